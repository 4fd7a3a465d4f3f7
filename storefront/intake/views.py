"""Webhook endpoints for Shopify and WooCommerce stores: check the signature, then take the order.

Plain Django views (no REST framework parsing): the signature is over the raw body, read first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.request import RawPostDataException
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt

from storefront.api.problems import PROBLEM_CONTENT_TYPE, problem
from storefront.models import SalesChannel

from . import shopify, woocommerce
from .common import IntakeAction, IntakeSkip, Outcome, intake_receive, signature_valid

WC_PING = re.compile(rb"^webhook_id=\d+$")


def _problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse(
        problem(status, detail, **extra), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


def _channel(ref: str, kind: str) -> SalesChannel | None:
    """The active channel of this kind, by id or by its name as a slug ('corner-shop')."""
    channels = SalesChannel.objects.filter(kind=kind, is_active=True)
    if ref.isdigit():
        return channels.filter(pk=int(ref)).first()
    return next((c for c in channels if slugify(c.name) == ref), None)


def _receive(
    request: HttpRequest,
    *,
    channel_ref: str,
    kind: str,
    signature_header: str,
    topic_header: str,
    delivery_header: str,
    source_header: str,
    read: Callable[[str, Any], IntakeAction],
    ping: bool = False,
) -> JsonResponse:
    if request.method != "POST":
        return _problem(405, "Send the webhook with POST.")
    channel = _channel(channel_ref, kind)
    if channel is None:
        return _problem(404, f"There is no active {kind} channel '{channel_ref}'.")
    try:
        body = request.body
    except RawPostDataException:
        return _problem(400, "Send the order as a JSON body.")
    signature = request.headers.get(signature_header, "")
    if ping and WC_PING.match(body):
        # WooCommerce pings the URL (unsigned) when the webhook is saved: say we are here.
        return JsonResponse({"outcome": "pong"})
    if not signature_valid(secret=channel.webhook_secret, body=body, signature=signature):
        return _problem(
            401,
            f"The {signature_header} header is missing or does not match the body signed with "
            "this channel's webhook signing secret.",
            kind="bad-signature",
        )
    topic = request.headers.get(topic_header, "").strip()
    delivery_id = (
        request.headers.get(delivery_header, "").strip()
        or "sha256:" + hashlib.sha256(body).hexdigest()
    )
    action: IntakeAction
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        action = IntakeSkip(Outcome.REFUSED, "The body is not JSON.")
    else:
        action = read(topic, payload)
    record, redelivery = intake_receive(
        channel=channel,
        topic=topic,
        delivery_id=delivery_id,
        source=request.headers.get(source_header, "").strip(),
        action=action,
    )
    # 200 even when refused: the delivery is recorded for staff, and a retry cannot fix it.
    return JsonResponse(
        {
            "outcome": record.outcome,
            "detail": record.detail,
            "order": record.order.number if record.order else None,
            "redelivery": redelivery,
        }
    )


@csrf_exempt
def shopify_webhook(request: HttpRequest, channel: str) -> JsonResponse:
    return _receive(
        request,
        channel_ref=channel,
        kind=SalesChannel.Kind.SHOPIFY,
        signature_header="X-Shopify-Hmac-Sha256",
        topic_header="X-Shopify-Topic",
        delivery_header="X-Shopify-Webhook-Id",
        source_header="X-Shopify-Shop-Domain",
        read=shopify.read,
    )


@csrf_exempt
def woocommerce_webhook(request: HttpRequest, channel: str) -> JsonResponse:
    return _receive(
        request,
        channel_ref=channel,
        kind=SalesChannel.Kind.WOOCOMMERCE,
        signature_header="X-WC-Webhook-Signature",
        topic_header="X-WC-Webhook-Topic",
        delivery_header="X-WC-Webhook-Delivery-ID",
        source_header="X-WC-Webhook-Source",
        read=woocommerce.read,
        ping=True,
    )
