"""Response headers that no library sets for us."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.utils import timezone

from config.calendar import store_zone


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY as the Permissions-Policy header of every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = " ".join(settings.PERMISSIONS_POLICY.split())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


class RejectNulCharactersMiddleware:
    """A NUL character in the query string or a form answers 400 with a message.

    No field accepts one, and PostgreSQL refuses it in text: without this, `?q=%00` on a search
    reached the database and answered a server error.
    """

    MESSAGE = "Bad request: the text sent contains a NUL character (%00), which no field accepts."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            "\x00" in request.path
            or self._has_nul(request.GET)
            or (request.method == "POST" and self._has_nul(request.POST))
        ):
            if request.path.startswith("/api/"):
                # The storefront API answers every error as an RFC 9457 problem.
                return JsonResponse(
                    {"type": "about:blank", "title": "Invalid request", "status": 400,
                     "detail": self.MESSAGE},
                    status=400,
                    content_type="application/problem+json",
                )  # fmt: skip
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(data: QueryDict) -> bool:
        return any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in data.lists()
        )


class StoreTimeZoneMiddleware:
    """Every page, the admin included, shows times in the store's zone (labelled in each layout),
    and a time typed into a form is read in that zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with timezone.override(store_zone()):
            return self.get_response(request)
