"""Dashboard: queue."""

from typing import Any

from django.http import HttpRequest, HttpResponse

from ..access import managers_required, operations_required
from ._stub import coming_soon


@operations_required
def queue(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Backorder queue")


@managers_required
def queue_prioritise(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Prioritise")


@operations_required
def queue_cancel(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Cancel line")
