from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower


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
    release_date = models.DateField(null=True, blank=True)
    is_discontinued = models.BooleanField("discontinued", default=False)
    discontinued_at = models.DateTimeField(null=True, blank=True, editable=False)
    lead_time_days = models.PositiveIntegerField("supplier lead time (days)", null=True, blank=True)
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
