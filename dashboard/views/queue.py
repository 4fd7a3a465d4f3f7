"""Dashboard: queue."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

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


urlpatterns = [
    path("queue/", queue, name="queue"),
    path("queue/<int:line_id>/prioritise/", queue_prioritise, name="queue_prioritise"),
    path("queue/<int:line_id>/cancel/", queue_cancel, name="queue_cancel"),
]
