"""Goodwill rules and the grants they made (imported by orders.models, so they are the orders
app's models)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from config.formats import format_money


class GoodwillTrigger(models.TextChoices):
    LONG_WAIT = "long_wait", "Waiting longer than N days"
    ETA_MOVED = "eta_moved", "ETA moved later"


class GoodwillGesture(models.TextChoices):
    SHIPPING_UPGRADE = "shipping_upgrade", "Free shipping upgrade"
    STORE_CREDIT = "store_credit", "Store credit"
    DISCOUNT_CODE = "discount_code", "Discount code"


class GoodwillRule(models.Model):
    """When a waiting order earns a gesture, which gesture, and how much a month it may cost."""

    Trigger = GoodwillTrigger
    Gesture = GoodwillGesture

    name = models.CharField(max_length=100)
    # None: every order, whatever channel it came from (staff entry included).
    channel = models.ForeignKey(
        "storefront.SalesChannel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="goodwill_rules",
        help_text="Only orders from this channel; leave empty for all orders.",
    )
    trigger = models.CharField(max_length=12, choices=GoodwillTrigger.choices)
    wait_days = models.PositiveSmallIntegerField(
        "wait longer than (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Store days since the order was placed (the long-wait trigger).",
    )
    gesture = models.CharField(max_length=16, choices=GoodwillGesture.choices)
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The credit, the amount off, or what the shipping upgrade costs the shop.",
    )
    discount_percent = models.PositiveSmallIntegerField(
        "discount (%)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A discount code for a percentage off instead of an amount.",
    )
    monthly_budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What this rule may give away in one calendar month (store time).",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger=GoodwillTrigger.LONG_WAIT)
                | Q(wait_days__isnull=False, wait_days__gte=1),
                name="goodwill_rule_long_wait_has_days",
                violation_error_message="Give the number of days a wait must exceed.",
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(gesture=GoodwillGesture.DISCOUNT_CODE),
                name="goodwill_rule_percent_only_for_codes",
                violation_error_message="Only a discount code can be a percentage.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0, monthly_budget__gte=0),
                name="goodwill_rule_amounts_not_negative",
                violation_error_message="Amounts cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def gesture_text(self) -> str:
        """The gesture as staff read it in lists ("Discount code: 10% off")."""
        if self.gesture == GoodwillGesture.SHIPPING_UPGRADE:
            return f"Free shipping upgrade (costs {format_money(self.amount)})"
        if self.gesture == GoodwillGesture.STORE_CREDIT:
            return f"{format_money(self.amount)} store credit"
        if self.discount_percent:
            return f"Discount code: {self.discount_percent}% off"
        return f"Discount code: {format_money(self.amount)} off"

    @property
    def trigger_text(self) -> str:
        if self.trigger == GoodwillTrigger.LONG_WAIT:
            return f"Waiting longer than {self.wait_days} days"
        return "ETA moved later"


class GoodwillGrant(models.Model):
    """One gesture given to one order (never two: the order is unique), and when the customer
    was told of it."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="goodwill_grant"
    )
    rule = models.ForeignKey(GoodwillRule, on_delete=models.PROTECT, related_name="grants")
    gesture = models.CharField(max_length=16, choices=GoodwillGesture.choices)
    # What the grant costs the shop: counted against the rule's monthly budget.
    value = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=200)
    granted_at = models.DateTimeField(db_index=True)
    told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="goodwill_grant_code_unique"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="goodwill_grant_value_gte_0"),
        ]
        indexes = [
            models.Index(
                fields=["order"], name="goodwill_grant_untold_idx", condition=Q(told_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_gesture_display()} for order {self.order_id}"

    @property
    def customer_text(self) -> str:
        """The gesture in the customer's words ("code THANKS-7KQ2 for 10% off")."""
        if self.gesture == GoodwillGesture.SHIPPING_UPGRADE:
            return "a free upgrade to express shipping"
        if self.gesture == GoodwillGesture.STORE_CREDIT:
            return f"{format_money(self.value)} store credit"
        off = f"{self.discount_percent}%" if self.discount_percent else format_money(self.value)
        return f"code {self.code} for {off} off your next order"
