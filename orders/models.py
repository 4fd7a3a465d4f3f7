from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower

from inventory.bounds import max_lead_time, validate_plausible_date
from inventory.models import Product


class Customer(models.Model):
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="customer_email_ci_unique",
                violation_error_message="A customer with this email address already exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


# The ship-by sort key of an order the rule holds to no date: after every real date.
SHIP_BY_NONE = dt.date(9999, 12, 31)


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    BACKORDERED = "backordered", "Backordered"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


class OrderQuerySet(models.QuerySet["Order"]):
    def with_status(self) -> OrderQuerySet:
        """Annotate `status`, derived from the lines (never stored, so it cannot drift).

        One correlated subquery per order that aggregates the order's own lines (an index
        look-up on order_id): a page of 50 orders reads only their lines. Unlike EXISTS
        checks, which PostgreSQL may turn into hashes of the whole lines table, a scalar
        subquery always runs per row. An order without lines counts as cancelled.
        """
        status_field = models.CharField(max_length=20, choices=OrderStatus.choices)
        lines = (
            OrderLine.objects.filter(order=OuterRef("pk"))
            .order_by()
            .values("order")
            .annotate(
                n_not_cancelled=Count("pk", filter=Q(quantity__gt=F("quantity_cancelled"))),
                n_unfinished=Count(
                    "pk", filter=Q(quantity__gt=F("quantity_shipped") + F("quantity_cancelled"))
                ),
                n_shipped=Count("pk", filter=Q(quantity_shipped__gt=0)),
                n_backordered=Count("pk", filter=Q(quantity_backordered__gt=0)),
            )
            .annotate(
                line_status=Case(
                    When(n_not_cancelled=0, then=Value(OrderStatus.CANCELLED)),
                    When(n_unfinished=0, then=Value(OrderStatus.SHIPPED)),
                    When(n_shipped__gt=0, then=Value(OrderStatus.PARTIALLY_SHIPPED)),
                    When(n_backordered__gt=0, then=Value(OrderStatus.BACKORDERED)),
                    default=Value(OrderStatus.OPEN),
                    output_field=status_field,
                )
            )
            .values("line_status")
        )
        return self.annotate(
            status=Coalesce(
                Subquery(lines, output_field=status_field),
                Value(OrderStatus.CANCELLED),
                output_field=status_field,
            )
        )


class Order(models.Model):
    Status = OrderStatus

    class ShipPreference(models.TextChoices):
        SHIP_AVAILABLE = "ship_available", "Ship what is available as it comes"
        SHIP_COMPLETE = "ship_complete", "Wait and ship everything together"

    class PaymentMethod(models.TextChoices):
        CARD = "card", "Card"
        PAYPAL = "paypal", "PayPal"
        CHECK = "check", "Check"
        MONEY_ORDER = "money_order", "Money order"
        CASH = "cash", "Cash"
        STORE_CREDIT = "store_credit", "Store credit account"
        COD = "cod", "Cash on delivery"
        BILL_ME = "bill_me", "Bill me (invoice after delivery)"

    number = models.CharField(max_length=20, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    # The sales channel (storefront) the order came from, and its id there; None for staff entry.
    channel = models.ForeignKey(
        "storefront.SalesChannel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    # NULL, not "", for "none": the unique constraints below then ignore orders without one.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    placed_at = models.DateTimeField(db_index=True)
    paid_at = models.DateTimeField(
        "properly completed at",
        null=True,
        blank=True,
        help_text="When payment (or authorisation) and everything needed to ship arrived.",
    )
    promised_ship_date = models.DateField(
        null=True,
        blank=True,
        validators=[validate_plausible_date],
        help_text="The ship-by date stated when the order was taken.",
    )
    promised_business_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[max_lead_time],
        help_text='A stated time such as "ships in 3 business days", counted from payment.',
    )
    credit_application = models.BooleanField(
        default=False, help_text="The buyer applied to the shop for credit with this order."
    )
    ship_preference = models.CharField(
        max_length=16, choices=ShipPreference.choices, default=ShipPreference.SHIP_AVAILABLE
    )
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping_charge = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Included in amount paid."
    )
    amount_captured = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    is_priority = models.BooleanField("priority", default=False)
    # The date the Mail Order Rule holds the order to (its record's consented date, else deadline
    # T; None while none), stored by the rule's services so lists sort and count by it.
    ship_by = models.DateField("ship by", null=True, blank=True, editable=False)
    # Set while a line holds allocated units (the ready-to-ship list's partial indexes); it may
    # outlast them, so readers check the lines too (orders/services/holding.py says when).
    holds_stock = models.BooleanField("holds allocated stock", default=False, editable=False)
    customer_unreachable_at = models.DateTimeField(
        "customer unreachable by email since", null=True, blank=True
    )
    customer_unreachable_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Where the order ships (structured, as storefronts send it).
    ship_to_name = models.CharField("ship-to name", max_length=200, blank=True)
    ship_to_line1 = models.CharField("address line 1", max_length=200, blank=True)
    ship_to_line2 = models.CharField("address line 2", max_length=200, blank=True)
    ship_to_city = models.CharField("city", max_length=100, blank=True)
    ship_to_region = models.CharField("region", max_length=100, blank=True)
    ship_to_postal_code = models.CharField("postal code", max_length=20, blank=True)
    ship_to_country = models.CharField(
        "country", max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. US."
    )
    ship_to_phone = models.CharField("phone", max_length=30, blank=True)
    # Status page opens by the customer (not staff): one who keeps checking may cancel soon.
    status_views = models.PositiveIntegerField("status page opens", default=0, editable=False)
    status_viewed_at = models.DateTimeField(
        "status page last opened", null=True, blank=True, editable=False
    )

    objects = OrderQuerySet.as_manager()
    # Not a column: on order_place's order, its lines as saved (None when a queue refresh in the
    # same transaction may have moved them), shown without reading them back.
    lines_as_placed: list[OrderLine] | None = None

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            # The few orders whose customer cannot be reached (the overview's figure, a filter).
            models.Index(
                fields=["customer_unreachable_at"],
                name="order_unreachable_idx",
                condition=Q(customer_unreachable_at__isnull=False),
            ),
            # The orders list sorted by ship-by date, undated orders last (its sort key, the
            # date or 9999-12-31), and paged by keyset on (key, id).
            models.Index(Coalesce("ship_by", Value(SHIP_BY_NONE)), "id", name="order_ship_by_idx"),
            # The orders holding stock in the ready-to-ship list's two orders (due, then the rest).
            models.Index(
                fields=["ship_by", "-is_priority", "placed_at", "id"],
                include=["ship_preference"],
                name="order_ready_due_idx",
                condition=Q(holds_stock=True),
            ),
            models.Index(
                fields=["-is_priority", "placed_at", "id"],
                include=["ship_by", "ship_preference"],
                name="order_ready_idx",
                condition=Q(holds_stock=True),
            ),
        ]
        constraints = [
            # An external id is unique per channel (and among orders without a channel).
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(channel__isnull=False, external_id__isnull=False) & ~Q(external_id=""),
                name="order_external_id_unique_per_channel",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(channel__isnull=True, external_id__isnull=False) & ~Q(external_id=""),
                name="order_external_id_unique_without_channel",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_captured__gte=0, amount_refunded__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount_captured__lte=F("amount_paid")),
                name="order_captured_lte_paid",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_paid")),
                name="order_refunded_lte_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class EtaSource(models.TextChoices):
    PURCHASE_ORDER = "po", "Purchase order"
    LEAD_TIME = "lead_time", "Estimated from lead time"
    RELEASE = "release", "Release date"
    UNKNOWN = "unknown", "Unknown"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    # Of the cancelled units, those replaced by a substitute the customer accepted (paid for
    # already, so no refund is owed for them).
    quantity_substituted = models.PositiveIntegerField(default=0)
    later_subscription_issue = models.BooleanField(
        default=False,
        help_text="A later issue of a subscription: not covered by the Mail Order Rule "
        "(the first issue is).",
    )
    quantity_backordered = models.GeneratedField(
        expression=F("quantity")
        - F("quantity_allocated")
        - F("quantity_shipped")
        - F("quantity_cancelled"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    # The allocation queue: priority first, then when the order was placed, then id.
    priority = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField()
    last_allocated_at = models.DateTimeField(null=True, blank=True)
    # When the backordered units are expected to ship, and the basis of that date.
    eta = models.DateField("ETA", null=True, blank=True)
    eta_source = models.CharField(
        "ETA source", max_length=12, choices=EtaSource.choices, blank=True
    )
    eta_reference = models.CharField("ETA reference", max_length=40, blank=True)

    class Meta:
        ordering = ["order_id", "id"]
        indexes = [
            # Each product's queue in allocation order, carrying the units (places count from it).
            models.Index(
                F("product"),
                F("priority").desc(),
                F("queued_at"),
                F("id"),
                name="orderline_queue_idx",
                include=["quantity_backordered"],
                condition=Q(quantity_backordered__gt=0),
            ),
            # The whole queue in allocation order (all products): the dashboard's queue page.
            models.Index(
                F("priority").desc(),
                F("queued_at"),
                F("id"),
                name="orderline_queue_all_idx",
                condition=Q(quantity_backordered__gt=0),
            ),
            models.Index(
                fields=["product"],
                name="orderline_allocated_idx",
                condition=Q(quantity_allocated__gt=0),
            ),
            # The orders holding stock (the ready-to-ship list), read from the index alone.
            models.Index(
                fields=["order"],
                name="orderline_allocated_order_idx",
                condition=Q(quantity_allocated__gt=0),
            ),
            # Orders with units to ship (open deadlines): one index probe per order, no heap.
            models.Index(
                fields=["order"],
                name="orderline_open_order_idx",
                condition=Q(quantity__gt=F("quantity_shipped") + F("quantity_cancelled")),
            ),
            # Every figure about the waiting lines (units per product, the overview's totals,
            # ages and revenue) from the index alone, never the waiting lines' heap rows.
            models.Index(
                fields=["product"],
                include=[
                    "quantity_backordered",
                    "unit_price",
                    "order",
                    "queued_at",
                    "eta",
                    "later_subscription_issue",
                ],
                name="orderline_waiting_idx",
                condition=Q(quantity_backordered__gt=0),
            ),
            # Lines that waited (only they get an ETA) and wait no longer (overview's series).
            models.Index(
                fields=["last_allocated_at"],
                name="orderline_waited_idx",
                condition=Q(quantity_backordered=0) & ~Q(eta_source=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="line_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_substituted__lte=F("quantity_cancelled")),
                name="line_substituted_lte_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_allocated")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="line_allocated_shipped_cancelled_lte_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} on order {self.order_id}"

    @property
    def backordered(self) -> int:
        """Backordered units computed in Python (the stored column refreshes only on reload)."""
        return (
            self.quantity
            - self.quantity_allocated
            - self.quantity_shipped
            - self.quantity_cancelled
        )

    @property
    def exempt_from_mail_order_rule(self) -> bool:
        """Not covered by the rule: a later subscription issue, or an exempt product."""
        return self.later_subscription_issue or self.product.exempt_from_mail_order_rule

    @property
    def quantity_open(self) -> int:
        """Units neither shipped nor cancelled."""
        return self.quantity - self.quantity_shipped - self.quantity_cancelled


class OrderEvent(models.Model):
    """The order's timeline: one row for every service that changed the order."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Placed"
        ALLOCATED = "allocated", "Stock allocated"
        ETA_CHANGED = "eta_changed", "ETA changed"
        DEALLOCATED = "deallocated", "Stock taken back"
        PRIORITISED = "prioritised", "Prioritised"
        CANCELLED = "cancelled", "Cancelled"
        SHIPPED = "shipped", "Shipped"
        REFUND_DUE = "refund_due", "Refund due"
        REFUND_ISSUED = "refund_issued", "Refund issued"
        PAYMENT = "payment", "Payment"
        SUBSTITUTED = "substituted", "Substituted"
        MAIL_ORDER_RULE = "mail_order_rule", "Mail Order Rule"
        NOTE = "note", "Note"
        DELIVERY_CHANGED = "delivery_changed", "Delivery changed"
        GOODWILL = "goodwill", "Goodwill"

    # (order, created_at) below serves every lookup by order. No database constraint: orders are
    # never deleted, event writers take the id from the order or its lines, and the check cost
    # a fifth of a big restock's commit (invariant_violations() reports an event of no order).
    order = models.ForeignKey(
        Order, models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"]),
            # Only deleting a user looks events up by actor; events without one stay out.
            models.Index(
                fields=["actor"],
                name="orderevent_actor_idx",
                condition=Q(actor__isnull=False),
            ),
            # Events of one kind over a period (cancellations since a date, ...).
            models.Index(fields=["kind", "created_at"], name="orderevent_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.message}"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipping_method = models.CharField(max_length=60, blank=True)
    shipped_at = models.DateTimeField(db_index=True)
    override_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-shipped_at", "-id"]

    def __str__(self) -> str:
        return f"Shipment {self.pk} of {self.order_id}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_gt_0"),
            models.UniqueConstraint(
                fields=["shipment", "order_line"], name="shipment_line_unique_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class Refund(models.Model):
    """A refund obligation: owed from the moment the right vested until issued."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=200)
    vested_at = models.DateTimeField()
    due_date = models.DateField(db_index=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issue_reference = models.CharField(max_length=100, blank=True)
    # The original method could not be refunded (e.g. a closed card): owed another way.
    failed_at = models.DateTimeField("refund failed at", null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    other_method = models.CharField(
        max_length=16,
        choices=[("cash", "Cash"), ("check", "Check"), ("money_order", "Money order")],
        blank=True,
        help_text="How it is owed instead, within 7 working days of learning of the failure.",
    )

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(
                fields=["due_date", "id"], name="refund_open_idx", condition=Q(issued_at=None)
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} on {self.order_id}"


class ShippingRate(models.Model):
    """The store's shipping rate table. The active one prices shipping (and what the shipped
    part of a partly cancelled order alone would have cost); without one, the settings'
    flat rate and free-shipping threshold apply."""

    class Kind(models.TextChoices):
        FLAT = "flat", "Flat rate per order"
        BANDS = "bands", "By order subtotal band"
        PER_ITEM = "per_item", "Per item"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FLAT)
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Flat: the charge per order. Per item: the charge per unit. (Bands: unused.)",
    )
    free_over = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Orders whose goods come to this much or more ship free.",
    )
    is_active = models.BooleanField(
        "in use", default=False, help_text="The one table that prices shipping."
    )

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="shipping_rate_one_active",
                violation_error_message="Only one shipping rate table can be in use.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & (Q(free_over__isnull=True) | Q(free_over__gte=0)),
                name="shipping_rate_amounts_not_negative",
                violation_error_message="Amounts cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().lower()})"


class ShippingRateBand(models.Model):
    """One band of a banded table: orders whose goods come to `subtotal_from` or more (up to
    the next band) pay `amount`."""

    table = models.ForeignKey(ShippingRate, on_delete=models.CASCADE, related_name="bands")
    subtotal_from = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["table_id", "subtotal_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "subtotal_from"],
                name="shipping_band_unique_start",
                violation_error_message="Two bands of this table start at the same subtotal.",
            ),
            models.CheckConstraint(
                condition=Q(subtotal_from__gte=0, amount__gte=0),
                name="shipping_band_amounts_not_negative",
                violation_error_message="Amounts cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"from {self.subtotal_from}: {self.amount}"


from .goodwill.models import GoodwillGrant, GoodwillRule  # noqa: E402, F401 (the app's models)
