"""What the API takes and returns (shapes only: the rules live in the services)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.bounds import (
    MAX_AMOUNT,
    MAX_LEAD_TIME_DAYS,
    MAX_QUANTITY,
    validate_plausible_date,
)
from orders.models import EtaSource, Order, OrderLine, Refund, Shipment, ShipmentLine
from orders.selectors import QuoteStatus
from storefront.countries import COUNTRY_CODES
from storefront.selectors import QuoteLine, StorefrontQuote, order_deadline

MAX_LINES = 100
PHONE = re.compile(r"^\+?[0-9 ()./-]{4,30}$")


class PaymentState:
    PAID = "paid"
    AUTHORISED = "authorised"
    UNPAID = "unpaid"
    CHOICES = [
        (PAID, "Paid"),
        (AUTHORISED, "Authorised (captured later)"),
        (UNPAID, "Not paid yet (C.O.D., check to come, invoice)"),
    ]


def _plausible_date(value: Any) -> None:
    from django.core.exceptions import ValidationError

    try:
        validate_plausible_date(value)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class QuoteLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class StatedShippingMixin(serializers.Serializer):
    promised_ship_date = serializers.DateField(
        required=False,
        allow_null=True,
        validators=[_plausible_date],
        help_text="The ship-by date the store stated, if it promised one.",
    )
    promised_business_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_LEAD_TIME_DAYS,
        help_text='A stated time such as "ships in 3 business days".',
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("promised_ship_date") and attrs.get("promised_business_days"):
            raise serializers.ValidationError(
                {"promised_business_days": "Give a stated ship date or business days, not both."}
            )
        return attrs


def _unique_skus(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not lines:
        raise serializers.ValidationError("Give at least one line.")
    seen: set[str] = set()
    for line in lines:
        if line["sku"].lower() in seen:
            raise serializers.ValidationError(f"SKU '{line['sku']}' is on two lines.")
        seen.add(line["sku"].lower())
    return lines


class QuoteRequestSerializer(StatedShippingMixin):
    lines = QuoteLineInSerializer(many=True, max_length=MAX_LINES)
    hold = serializers.BooleanField(
        default=False, help_text="Keep the quote for a few minutes; cite its id in the order."
    )

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _unique_skus(lines)


class EtaBasisField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[("", "None"), *EtaSource.choices], **kwargs)


class QuoteLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    status = serializers.ChoiceField(choices=QuoteStatus.choices)
    orderable = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the line cannot be ordered ('' when it can).")
    in_stock = serializers.IntegerField(help_text="Units that would ship from stock now.")
    backordered = serializers.IntegerField(help_text="Units that would wait.")
    eta = serializers.DateField(allow_null=True, help_text="When the waiting units should ship.")
    eta_basis = EtaBasisField()
    eta_reference = serializers.CharField()
    release_date = serializers.DateField(allow_null=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class DeadlineSerializer(serializers.Serializer):
    date = serializers.DateField()
    basis = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    quote_id = serializers.UUIDField(allow_null=True, help_text="Set when the quote is held.")
    expires_at = serializers.DateTimeField(allow_null=True)
    orderable = serializers.BooleanField()
    lines = QuoteLineOutSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_charge = serializers.DecimalField(max_digits=12, decimal_places=2)
    deadline = DeadlineSerializer(help_text="The Mail Order Rule deadline if paid now.")


def quote_data(quote: StorefrontQuote, *, held: Any = None) -> dict[str, Any]:
    def line(q: QuoteLine) -> dict[str, Any]:
        return {
            "sku": q.sku,
            "name": q.name,
            "quantity": q.quantity,
            "status": q.status,
            "orderable": q.orderable,
            "reason": q.reason,
            "in_stock": q.in_stock,
            "backordered": q.backordered,
            "eta": q.eta,
            "eta_basis": q.eta_basis,
            "eta_reference": q.eta_reference,
            "release_date": q.release_date,
            "unit_price": q.unit_price,
        }

    return QuoteSerializer(
        {
            "quote_id": held.pk if held else None,
            "expires_at": held.expires_at if held else None,
            "orderable": quote.orderable,
            "lines": [line(q) for q in quote.lines],
            "subtotal": quote.subtotal,
            "shipping_charge": quote.shipping_charge,
            "deadline": {"date": quote.deadline.date, "basis": quote.deadline.basis},
        }
    ).data


class CustomerInSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(
        min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US."
    )
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise serializers.ValidationError(f"'{value}' is not an ISO 3166-1 alpha-2 code.")
        return code

    def validate_phone(self, value: str) -> str:
        if value and not PHONE.match(value):
            raise serializers.ValidationError("A phone number has digits, spaces, + ( ) . / -.")
        return value


class AddressOutSerializer(serializers.Serializer):
    """The address as stored (empty strings where the order has none)."""

    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code, or '' when unknown.")
    phone = serializers.CharField()


class CustomerOutSerializer(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField()


class OrderLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_AMOUNT
    )


class OrderCreateSerializer(StatedShippingMixin):
    external_id = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="The order's id in the storefront (unique per channel).",
    )  # fmt: skip
    customer = CustomerInSerializer()
    shipping_address = AddressSerializer()
    lines = OrderLineInSerializer(many=True, max_length=MAX_LINES)
    shipping_charge = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), max_value=MAX_AMOUNT,
        default=Decimal("0"),
    )  # fmt: skip
    payment_state = serializers.ChoiceField(choices=PaymentState.CHOICES)
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)
    ship_preference = serializers.ChoiceField(
        choices=Order.ShipPreference.choices, default=Order.ShipPreference.SHIP_AVAILABLE
    )
    quote_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="A held quote whose ETAs the order must get."
    )

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _unique_skus(lines)


class CancelSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_null=True,
        max_length=MAX_LINES,
        help_text="SKUs of the lines to cancel; the whole order when left out.",
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DeliveryChangeSerializer(serializers.Serializer):
    """Only the fields given change; each is set to the value given (so a repeat is harmless)."""

    ship_preference = serializers.ChoiceField(choices=Order.ShipPreference.choices, required=False)
    shipping_address = AddressSerializer(
        required=False, help_text="The whole new address (its phone too) for what is not shipped."
    )
    phone = serializers.CharField(
        max_length=30, required=False, help_text="A new phone number alone (the address stays)."
    )

    def validate_phone(self, value: str) -> str:
        if not PHONE.match(value):
            raise serializers.ValidationError("A phone number has digits, spaces, + ( ) . / -.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Give ship_preference, shipping_address or phone to change."
            )
        return attrs


class LineOutSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    eta_basis = serializers.CharField(source="eta_source")
    quantity_backordered = serializers.IntegerField()

    class Meta:
        model = OrderLine
        fields = [
            "sku",
            "name",
            "quantity",
            "unit_price",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
            "quantity_backordered",
            "eta",
            "eta_basis",
            "eta_reference",
        ]


class ShipmentLineOutSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.product.sku")

    class Meta:
        model = ShipmentLine
        fields = ["sku", "quantity"]


class ShipmentOutSerializer(serializers.ModelSerializer):
    lines = ShipmentLineOutSerializer(many=True)

    class Meta:
        model = Shipment
        fields = ["carrier", "tracking_number", "shipping_method", "shipped_at", "lines"]


class RefundOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["amount", "reason", "vested_at", "due_date", "issued_at"]


class OrderOutSerializer(serializers.ModelSerializer):
    status = serializers.CharField()
    customer = serializers.SerializerMethodField()
    shipping_address = serializers.SerializerMethodField()
    lines = LineOutSerializer(many=True)
    shipments = ShipmentOutSerializer(many=True)
    refunds = RefundOutSerializer(many=True)
    deadline = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "external_id",
            "status",
            "placed_at",
            "paid_at",
            "customer",
            "shipping_address",
            "payment_method",
            "ship_preference",
            "amount_paid",
            "shipping_charge",
            "amount_refunded",
            "promised_ship_date",
            "promised_business_days",
            "lines",
            "shipments",
            "refunds",
            "deadline",
            "status_url",
        ]

    @extend_schema_field(CustomerOutSerializer)
    def get_customer(self, order: Order) -> dict[str, str]:
        return {"email": order.customer.email, "name": order.customer.name}

    @extend_schema_field(AddressOutSerializer)
    def get_shipping_address(self, order: Order) -> dict[str, str]:
        return {
            "name": order.ship_to_name,
            "line1": order.ship_to_line1,
            "line2": order.ship_to_line2,
            "city": order.ship_to_city,
            "region": order.ship_to_region,
            "postal_code": order.ship_to_postal_code,
            "country": order.ship_to_country,
            "phone": order.ship_to_phone,
        }

    @extend_schema_field(DeadlineSerializer(allow_null=True))
    def get_deadline(self, order: Order) -> dict[str, str] | None:
        deadline = order_deadline(order=order)
        if deadline is None:
            return None
        return {"date": deadline.date.isoformat(), "basis": deadline.basis}

    def get_status_url(self, order: Order) -> str:
        from orders.selectors import order_status_url

        return order_status_url(order=order)
