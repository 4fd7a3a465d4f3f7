"""The storefront REST API: parse, call one service or selector, answer (errors as problems)."""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from orders.models import Order
from orders.services import (
    DeliveryChangeRefused,
    ProductsRefused,
    order_delivery_change,
    products_upsert,
)
from storefront.models import SalesChannel
from storefront.selectors import (
    BadCursor,
    availability_changed_since,
    channel_order_placed,
    channel_orders,
    held_quote_get,
    storefront_quote,
)
from storefront.services import (
    IdempotencyConflict,
    QuoteMoved,
    ShippingAddress,
    quote_hold,
    request_fingerprint,
    storefront_order_cancel,
    storefront_order_place,
)

from .problems import PROBLEM_CONTENT_TYPE, TITLES, problem_response
from .serializers import (
    AvailabilityPageSerializer,
    CancelSerializer,
    DeliveryChangeSerializer,
    ItemErrorsSerializer,
    OrderCreateSerializer,
    OrderOutSerializer,
    PaymentState,
    ProductsUpsertedSerializer,
    ProductsUpsertSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    quote_data,
)


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(required=False)


class QuoteMovedSerializer(ProblemSerializer):
    quote = QuoteSerializer()


def problems(*codes: int, **described: Any) -> dict[Any, OpenApiResponse]:
    """Documented error responses, each an application/problem+json body."""
    found: dict[Any, OpenApiResponse] = {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=TITLES[code])
        for code in codes
    }
    for code, serializer, description in described.values():
        found[(code, PROBLEM_CONTENT_TYPE)] = OpenApiResponse(serializer, description=description)
    return found


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A unique key per order (e.g. a UUID): a retry with the same key and body gets "
    "the first response again, and never a second order.",
)


def _channel(request: Request) -> SalesChannel:
    return request.user.channel


class OrderCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50


class QuoteView(GenericAPIView):
    serializer_class = QuoteRequestSerializer

    @extend_schema(
        summary="Quote lines before checkout",
        operation_id="quote_create",
        request=QuoteRequestSerializer,
        responses={200: QuoteSerializer, 201: QuoteSerializer, **problems(400, 401, 429)},
    )
    def post(self, request: Request) -> Response:
        form = QuoteRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        quote = storefront_quote(
            lines=[(line["sku"], line["quantity"]) for line in data["lines"]],
            promised_ship_date=data.get("promised_ship_date"),
            promised_business_days=data.get("promised_business_days"),
        )
        if not data["hold"]:
            return Response(quote_data(quote))
        held = quote_hold(channel=_channel(request), quote=quote)
        return Response(quote_data(quote, held=held), status=201)


class OrderListCreateView(GenericAPIView):
    serializer_class = OrderOutSerializer
    pagination_class = OrderCursorPagination

    def get_queryset(self) -> Any:
        return channel_orders(channel=_channel(self.request))

    @extend_schema(
        summary="The channel's orders, newest first",
        operation_id="orders_list",
        parameters=[
            OpenApiParameter("external_id", str, description="Only the order with this id.")
        ],
        responses={200: OrderOutSerializer(many=True), **problems(400, 401, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        orders = self.get_queryset()
        external_id = request.query_params.get("external_id")
        if external_id is not None:
            orders = orders.filter(external_id=external_id)
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderOutSerializer(page, many=True).data)

    @extend_schema(
        summary="Place an order",
        operation_id="order_create",
        parameters=[IDEMPOTENCY_KEY],
        request=OrderCreateSerializer,
        responses={
            201: OrderOutSerializer,
            **problems(
                400,
                401,
                429,
                moved=(409, QuoteMovedSerializer, "The queue moved since the held quote."),
                reused=(422, ProblemSerializer, "The Idempotency-Key was used with another body."),
            ),
        },
    )
    def post(self, request: Request) -> Response:
        channel = _channel(request)
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 255:
            return problem_response(
                400,
                "Send an Idempotency-Key header (1 to 255 characters), unique per order.",
                kind="idempotency-key-missing",
                errors={"Idempotency-Key": ["This header is required."]},
            )
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        held = None
        if data.get("quote_id"):
            held = held_quote_get(channel=channel, quote_id=data["quote_id"])
            if held is None:
                return problem_response(
                    400,
                    "Some fields are missing or invalid.",
                    kind="invalid",
                    errors={"quote_id": ["No such held quote (it may have been used already)."]},
                )
        paid = data["payment_state"] != PaymentState.UNPAID

        def respond(order: Order) -> Any:
            return _json(OrderOutSerializer(channel_order_placed(order=order)).data)

        try:
            result = storefront_order_place(
                channel=channel,
                idempotency_key=key,
                request_hash=request_fingerprint(request.data),
                external_id=data["external_id"],
                customer_email=data["customer"]["email"],
                customer_name=data["customer"]["name"],
                address=ShippingAddress(**data["shipping_address"]),
                lines=data["lines"],
                shipping_charge=data["shipping_charge"],
                paid=paid,
                payment_method=data["payment_method"],
                promised_ship_date=data.get("promised_ship_date"),
                promised_business_days=data.get("promised_business_days"),
                ship_preference=data["ship_preference"],
                held_quote=held,
                respond=respond,
            )
        except IdempotencyConflict:
            return problem_response(
                422,
                "This Idempotency-Key was already used for an order with another body.",
                kind="idempotency-key-reused",
            )
        except QuoteMoved as moved:
            # Quoted after the refused order rolled back: what the buyer would get now.
            fresh = storefront_quote(
                lines=[(line["sku"], line["quantity"]) for line in data["lines"]],
                promised_ship_date=data.get("promised_ship_date"),
                promised_business_days=data.get("promised_business_days"),
            )
            return problem_response(409, moved.why, kind="quote-moved", quote=quote_data(fresh))
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        response["Location"] = f"/api/v1/orders/{result.body['number']}/"
        return response


def _json(data: Any) -> Any:
    """Serializer output as plain JSON values (to be stored and replayed as they were)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


class OrderDetailView(GenericAPIView):
    serializer_class = OrderOutSerializer
    lookup_field = "number"

    def get_queryset(self) -> Any:
        return channel_orders(channel=_channel(self.request))

    @extend_schema(
        summary="One order by number",
        operation_id="order_retrieve",
        responses={200: OrderOutSerializer, **problems(400, 401, 404, 429)},
    )
    def get(self, request: Request, number: str) -> Response:
        order = get_object_or_404(self.get_queryset(), number=number)
        return Response(OrderOutSerializer(order).data)

    @extend_schema(
        summary="Change the ship preference, shipping address or phone until shipped",
        description="Each field given is set to the value given and applies to every unit not "
        "yet shipped; fields left out stay as they are. Setting the same values again changes "
        "nothing, so a retry is safe. Once nothing is left to ship (all shipped or cancelled) "
        "a change is refused with a 409.",
        operation_id="order_delivery_change",
        request=DeliveryChangeSerializer,
        responses={
            200: OrderOutSerializer,
            **problems(
                400,
                401,
                404,
                429,
                settled=(409, ProblemSerializer, "The order has shipped or is cancelled."),
            ),
        },
    )
    def patch(self, request: Request, number: str) -> Response:
        channel = _channel(request)
        order = get_object_or_404(Order.objects.filter(channel=channel), number=number)
        form = DeliveryChangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        address = data.get("shipping_address")
        try:
            order_delivery_change(
                order=order,
                ship_preference=data.get("ship_preference"),
                address=ShippingAddress(**address) if address is not None else None,
                phone=data.get("phone"),
                reason=f"asked through {channel.name}",
            )
        except DeliveryChangeRefused as refused:
            return problem_response(409, " ".join(refused.messages), kind="delivery-settled")
        fresh = channel_orders(channel=channel).get(pk=order.pk)
        return Response(OrderOutSerializer(fresh).data)


class OrderCancelView(GenericAPIView):
    serializer_class = CancelSerializer

    @extend_schema(
        summary="Cancel the order or some of its lines on the customer's behalf",
        operation_id="order_cancel",
        request=CancelSerializer,
        responses={200: OrderOutSerializer, **problems(400, 401, 404, 429)},
    )
    def post(self, request: Request, number: str) -> Response:
        channel = _channel(request)
        order = get_object_or_404(Order.objects.filter(channel=channel), number=number)
        form = CancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        storefront_order_cancel(
            channel=channel,
            order=order,
            skus=form.validated_data.get("lines"),
            reason=form.validated_data["reason"],
        )
        fresh = channel_orders(channel=channel).get(pk=order.pk)
        return Response(OrderOutSerializer(fresh).data)


class ProductsRefusedSerializer(ProblemSerializer):
    items = ItemErrorsSerializer(many=True)


def _refused_items(raw: Any, errors: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    items = raw.get("products") if isinstance(raw, dict) else None
    items = items if isinstance(items, list) else []

    def sku(index: int) -> str:
        item = items[index] if index < len(items) else None
        return str(item.get("sku", ""))[:64] if isinstance(item, dict) else ""

    return [
        {"index": index, "sku": sku(index), "errors": errors[index]} for index in sorted(errors)
    ]


class ProductsUpsertView(GenericAPIView):
    serializer_class = ProductsUpsertSerializer

    @extend_schema(
        summary="Create or update products by SKU, all or none",
        description="Each item sets the fields it gives (a new SKU needs a name and a price). "
        "The batch is all or nothing: when any item is wrong, nothing is written and the 422 "
        "lists every wrong item with its errors. Sending the same batch again changes nothing.",
        operation_id="products_upsert",
        request=ProductsUpsertSerializer,
        responses={
            200: ProductsUpsertedSerializer,
            **problems(
                400,
                401,
                429,
                refused=(422, ProductsRefusedSerializer, "Some items are wrong; none written."),
            ),
        },
    )
    def post(self, request: Request) -> Response:
        form = ProductsUpsertSerializer(data=request.data)
        if not form.is_valid():
            errors = _item_errors(form.errors.get("products"))
            if not errors:
                raise serializers.ValidationError(form.errors)
            return _refused(request.data, errors)
        try:
            results = products_upsert(items=form.validated_data["products"])
        except ProductsRefused as refused:
            return _refused(request.data, refused.errors)
        counts = {name: 0 for name in ("created", "changed", "unchanged")}
        for result in results:
            counts[result.action] += 1
        return Response(
            {
                **counts,
                "products": [
                    {"sku": r.sku, "result": r.action, "changed": list(r.changed)} for r in results
                ],
            }
        )


def _item_errors(found: Any) -> dict[int, dict[str, Any]]:
    """The errors of single items ({index: {field: messages}}), or {} when the list itself is
    wrong (not a list, empty, too long)."""
    if isinstance(found, list) and all(isinstance(e, dict) for e in found):
        found = dict(enumerate(found))
    if not isinstance(found, dict) or not all(str(key).isdigit() for key in found):
        return {}
    return {int(key): _json(errors) for key, errors in found.items() if errors}


def _count(raw: Any) -> int:
    items = raw.get("products") if isinstance(raw, dict) else None
    return len(items) if isinstance(items, list) else 0


def _refused(raw: Any, errors: dict[int, dict[str, Any]]) -> Response:
    return problem_response(
        422,
        f"Products refused: {len(errors)} of {_count(raw)} are wrong; none was written.",
        kind="products-refused",
        items=_refused_items(raw, errors),
    )


AVAILABILITY_LIMIT = 500


class AvailabilityView(GenericAPIView):
    serializer_class = AvailabilityPageSerializer

    @extend_schema(
        summary="Products whose availability changed since a cursor",
        description="Without a cursor: every product. Then pass the `next_cursor` of the last "
        "answer to get only what changed since, oldest change first; `has_more` says to ask "
        "again at once. A change shows up a few seconds after it was made.",
        operation_id="availability_list",
        parameters=[
            OpenApiParameter("cursor", str, description="The `next_cursor` of the last answer."),
            OpenApiParameter(
                "limit", int, description=f"Products per answer, 1 to {AVAILABILITY_LIMIT}."
            ),
        ],
        responses={200: AvailabilityPageSerializer, **problems(400, 401, 429)},
    )
    def get(self, request: Request) -> Response:
        form = AvailabilityQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        try:
            page = availability_changed_since(
                cursor=form.validated_data["cursor"], limit=form.validated_data["limit"]
            )
        except BadCursor:
            raise serializers.ValidationError(
                {"cursor": ["Not a cursor this API gave; start again without one."]}
            ) from None
        return Response(AvailabilityPageSerializer(page).data)


class AvailabilityQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    limit = serializers.IntegerField(
        required=False, default=100, min_value=1, max_value=AVAILABILITY_LIMIT
    )
