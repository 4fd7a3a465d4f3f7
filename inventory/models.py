from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from .bounds import max_lead_time, max_quantity, validate_plausible_date


class Supplier(models.Model):
    name = models.CharField(max_length=200, unique=True)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(
        "default lead time (days)",
        default=14,
        validators=[max_lead_time],
        help_text="Days from sending a PO to receiving it (at most 365).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class BackorderPolicy(models.TextChoices):
        DENY = "deny", "Deny (never sell below zero)"
        ALLOW = "allow", "Allow backorders"

    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    backorder_policy = models.CharField(
        max_length=8, choices=BackorderPolicy.choices, default=BackorderPolicy.ALLOW
    )
    backorder_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most units that may be backordered at once; empty means no cap.",
    )
    is_preorder = models.BooleanField(
        "preorder", default=False, help_text="Not released yet: shown and emailed as a preorder."
    )
    release_date = models.DateField(null=True, blank=True, validators=[validate_plausible_date])
    is_discontinued = models.BooleanField("discontinued", default=False)
    discontinued_at = models.DateTimeField(null=True, blank=True, editable=False)
    preferred_supplier = models.ForeignKey(
        Supplier, on_delete=models.SET_NULL, null=True, blank=True, related_name="products"
    )
    lead_time_days = models.PositiveIntegerField(
        "supplier lead time (days)",
        null=True,
        blank=True,
        validators=[max_lead_time],
        help_text="Empty: the preferred supplier's default lead time (at most 365).",
    )
    backorder_limit_from_incoming = models.BooleanField(
        "limit backorders to incoming supply",
        default=False,
        help_text="Accept backorders only up to the units on open purchase orders (plus margin).",
    )
    backorder_margin = models.PositiveIntegerField(
        default=0, help_text="Extra units beyond incoming supply that may be backordered."
    )
    safety_stock = models.PositiveIntegerField(default=0)
    reorder_point = models.PositiveIntegerField(default=0)
    reorder_quantity = models.PositiveIntegerField(default=0)
    substitutes = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="substitute_for"
    )
    exempt_from_mail_order_rule = models.BooleanField(
        default=False,
        help_text="Services, seeds and growing plants are not covered by the FTC Mail Order Rule.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                Lower("sku"),
                name="product_sku_ci_unique",
                violation_error_message="A product with this SKU already exists.",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(is_preorder=False) | Q(release_date__isnull=False),
                name="product_preorder_has_release_date",
                violation_error_message="A preorder needs a release date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"

    @property
    def effective_lead_time_days(self) -> int | None:
        if self.lead_time_days is not None:
            return self.lead_time_days
        if self.preferred_supplier is not None:
            return self.preferred_supplier.lead_time_days
        return None

    @property
    def accepts_backorders(self) -> bool:
        if self.is_discontinued:
            return False
        return self.is_preorder or self.backorder_policy == self.BackorderPolicy.ALLOW


class Stock(models.Model):
    """On hand and allocated units of one product; available = on_hand - allocated."""

    product = models.OneToOneField(
        Product, on_delete=models.PROTECT, primary_key=True, related_name="stock"
    )
    on_hand = models.PositiveIntegerField(default=0)
    allocated = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The storefronts' availability feed: products in the order their stock last changed.
            models.Index(fields=["updated_at", "product"], name="stock_changed_feed_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stock_allocated_gte_0"),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="stock_allocated_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.on_hand} on hand, {self.allocated} allocated"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class StockMovement(models.Model):
    """The ledger: every change of on hand, signed."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SHIPMENT = "shipment", "Shipment"
        ADJUSTMENT = "adjustment", "Adjustment"
        RETURN = "return", "Return"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = models.IntegerField(help_text="Signed: positive adds to on hand.")
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(
                condition=Q(kind="adjustment")
                | Q(kind__in=["receipt", "return"], quantity__gt=0)
                | Q(kind="shipment", quantity__lt=0),
                name="movement_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} {self.product_id}"


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.SENT, Status.PARTIALLY_RECEIVED)

    number = models.CharField(max_length=20, unique=True, editable=False)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchase_lines")
    quantity_ordered = models.PositiveIntegerField(validators=[max_quantity])
    quantity_received = models.PositiveIntegerField(default=0)
    expected_date = models.DateField(validators=[validate_plausible_date])
    unit_cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What the supplier charges per unit; empty on lines entered before costs.",
    )
    promised_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The expected date the supplier first gave; it never moves.",
    )
    reschedule_count = models.PositiveIntegerField(
        "date moves", default=0, editable=False, help_text="Times the expected date was moved."
    )
    is_cancelled = models.BooleanField("cancelled", default=False)

    class Meta:
        ordering = ["purchase_order_id", "id"]
        indexes = [
            models.Index(
                fields=["product", "expected_date"],
                name="po_line_open_idx",
                condition=Q(is_cancelled=False, quantity_received__lt=F("quantity_ordered")),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="po_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_ordered")),
                name="po_line_received_lte_ordered",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__isnull=True) | Q(unit_cost__gte=0),
                name="po_line_unit_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} × {self.product_id} on {self.purchase_order_id}"

    @property
    def quantity_outstanding(self) -> int:
        return 0 if self.is_cancelled else self.quantity_ordered - self.quantity_received

    @property
    def first_promised_date(self) -> dt.date:
        return self.promised_date or self.expected_date

    @property
    def cost(self) -> Decimal | None:
        """Unit cost × the units bought (only those received, once cancelled); None unpriced."""
        if self.unit_cost is None:
            return None
        units = self.quantity_received if self.is_cancelled else self.quantity_ordered
        return self.unit_cost * units

    @property
    def cost_outstanding(self) -> Decimal | None:
        """Unit cost × the units still to arrive: the money this line still commits."""
        return None if self.unit_cost is None else self.unit_cost * self.quantity_outstanding


class PurchaseReceipt(models.Model):
    """One delivery against a purchase-order line, measured against what the supplier promised:
    the supplier's reliability record."""

    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.CASCADE, related_name="receipts")
    # Copied from the line's purchase order so a supplier's record is one indexed range read.
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="receipts")
    movement = models.OneToOneField(
        StockMovement, on_delete=models.PROTECT, related_name="purchase_receipt"
    )
    quantity = models.PositiveIntegerField()
    received_on = models.DateField(help_text="The store day the units arrived.")
    promised_date = models.DateField(help_text="The line's first promised date.")
    expected_date = models.DateField(help_text="The line's expected date when it arrived.")
    slip_days = models.IntegerField(
        help_text="Days after the first promised date (negative: early)."
    )
    slip_days_expected = models.IntegerField(
        help_text="Days after the expected date at arrival (negative: early)."
    )
    date_moves = models.PositiveIntegerField(
        help_text="Times the line's expected date had been moved before it arrived."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["supplier", "received_on"], name="receipt_supplier_day_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_receipt_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.line_id} on {self.received_on}"

    @property
    def on_time(self) -> bool:
        return self.slip_days <= 0

    @property
    def days_off(self) -> int:
        """Days late or early, without the sign."""
        return abs(self.slip_days)


class PurchaseOrderEvent(models.Model):
    """A purchase order's history: sent, rescheduled (with the reason), received, cancelled."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events"
    )
    line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.message


class LowStockAlert(models.Model):
    """One per product per day, recorded by the daily replenishment check."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="low_stock_alerts")
    date = models.DateField()
    on_hand = models.IntegerField()
    available = models.IntegerField()
    backordered = models.IntegerField()
    incoming = models.IntegerField()
    projected = models.IntegerField()
    suggested_quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "date"], name="low_stock_alert_once_a_day")
        ]

    def __str__(self) -> str:
        return f"Low stock {self.product_id} on {self.date}"
