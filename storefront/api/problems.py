"""Every error the API returns is an RFC 9457 problem: type, title, status, detail, errors."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://backorder-desk.example/problems/"

TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Server error",
}


def problem(
    status_code: int,
    detail: str,
    *,
    kind: str = "",
    errors: dict[str, Any] | None = None,
    title: str = "",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or str(status_code)),
        "title": title or TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(status_code: int, detail: str, **kwargs: Any) -> Response:
    return Response(
        problem(status_code, detail, **kwargs),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _messages(detail: Any) -> Any:
    """DRF's ErrorDetail tree as plain strings."""
    if isinstance(detail, dict):
        return {key: _messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_messages(value) for value in detail]
    return str(detail)


def validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return problem_response(
            400, "The request was refused.", kind="invalid", errors=validation_errors(exc)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("API request failed", exc_info=exc)
        return problem_response(500, "Something went wrong on our side; the request was not done.")
    if not isinstance(exc, exceptions.APIException):  # DRF answers only its own exceptions
        return response
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        detail = "Some fields are missing or invalid."
        data = _messages(exc.detail)
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else str(exc)
    response.data = problem(response.status_code, detail, kind=exc.default_code, errors=errors)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any address under /api/ that is not an endpoint."""
    return JsonResponse(
        problem(status.HTTP_404_NOT_FOUND, "There is no such API endpoint."),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
