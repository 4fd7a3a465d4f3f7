"""Dashboard: the webhook delivery log — what was sent to which storefront, with what answer,
and a re-send button (the same event, the same event id)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from storefront.models import WebhookDelivery
from storefront.webhooks import webhook_delivery_resend

from ..access import managers_required
from ..lists import render_list
from ..submissions import single_submission
from . import selectors
from .forms import DeliveryFilterForm

PAGE_SIZE = 50

STATE_BADGES: dict[str, str] = {
    WebhookDelivery.State.PENDING: "info",
    WebhookDelivery.State.SENDING: "info",
    WebhookDelivery.State.DELIVERED: "ok",
    WebhookDelivery.State.FAILED: "bad",
}


@managers_required
def webhook_deliveries(request: HttpRequest) -> HttpResponse:
    filters = DeliveryFilterForm(request.GET or None)
    channel_id, state = None, ""
    if filters.is_valid():
        channel = filters.cleaned_data["channel"]
        channel_id = channel.pk if channel else None
        state = filters.cleaned_data["state"]
    return render_list(
        request,
        "dashboard/webhooks/delivery_list.html",
        filters=filters,
        items=selectors.webhook_delivery_list(channel_id=channel_id, state=state),
        page_size=PAGE_SIZE,
        badge=lambda delivery: STATE_BADGES.get(delivery.state, ""),
    )


@managers_required
@require_POST
@single_submission
def webhook_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        webhook_delivery_resend(delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{delivery.event_type} for {delivery.order_number} queued to send again."
        )
    # Back to the log as it was filtered (re-encoded, so only a query string ever follows).
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(reverse("dashboard:webhook_deliveries") + (f"?{query}" if query else ""))


urlpatterns = [
    path("webhooks/", webhook_deliveries, name="webhook_deliveries"),
    path("webhooks/<int:pk>/resend/", webhook_resend, name="webhook_resend"),
]
