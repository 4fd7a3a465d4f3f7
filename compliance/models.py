"""The FTC Mail Order Rule record of each order: its deadline, notices, answers and outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from inventory.models import Product
from notifications.models import Notification
from orders.models import Order, OrderLine

# The states that hold an order to a ship-by date (compliance.selectors.DATED_STATES): on time,
# or a notice or consent that moved the date.
DATED_STATE_VALUES = ("on_time", "notice_sent", "consented", "renewed_notice_sent")


class OrderCompliance(models.Model):
    class Basis(models.TextChoices):
        STATED_DATE = "stated_date", "Ship date stated at order time"
        STATED_DAYS = "stated_days", "Business days stated at order time"
        THIRTY_DAYS = "30_days", "30 days after the order was properly completed"
        FIFTY_DAYS = "50_days", "50 days (credit application with the order)"

    class State(models.TextChoices):
        EXEMPT = "exempt", "Not covered by the rule"
        AWAITING_PAYMENT = "awaiting_payment", "Not yet properly completed"
        ON_TIME = "on_time", "On time"
        NOTICE_SENT = "notice_sent", "Delay notice sent, awaiting answer"
        CONSENTED = "consented", "Customer consented to a delay"
        CONSENTED_INDEFINITELY = "consented_indefinitely", "Customer accepts any delay"
        RENEWED_NOTICE_SENT = "renewed_notice_sent", "Renewed notice sent, awaiting answer"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    class Branch(models.TextChoices):
        SHORT = "S", "S: revised date within 30 days of the deadline"
        LONG = "L", "L: revised date later, or none"

    class ConsentKind(models.TextChoices):
        EXPRESS = "express", "Express"
        DEEMED = "deemed", "Deemed (silence)"
        INDEFINITE = "indefinite", "Indefinite delay"

    OPEN_STATES = (
        State.ON_TIME,
        State.NOTICE_SENT,
        State.CONSENTED,
        State.CONSENTED_INDEFINITELY,
        State.RENEWED_NOTICE_SENT,
    )

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="compliance")
    state = models.CharField(max_length=24, choices=State.choices, default=State.ON_TIME)
    exempt_reason = models.CharField(max_length=200, blank=True)
    properly_completed_at = models.DateTimeField("t0", null=True, blank=True)
    deadline = models.DateField("deadline T", null=True, blank=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, blank=True)
    branch = models.CharField(max_length=1, choices=Branch.choices, blank=True)
    revised_date = models.DateField(null=True, blank=True, help_text="Date in the latest notice.")
    consented_until = models.DateField(null=True, blank=True)
    consent_kind = models.CharField(max_length=12, choices=ConsentKind.choices, blank=True)
    cancel_at_end_of = models.DateField(
        null=True, blank=True, help_text="Cancelled at the end of this store day unless answered."
    )
    # The engine could not decide for this order (staff must check it by hand); cleared by the
    # next evaluation that succeeds.
    engine_failure = models.CharField(max_length=200, blank=True)
    engine_failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "deadline"]),
            # The ship-by date exactly as compliance.selectors.ship_by_expression("") computes
            # it, over the states that hold an order to a date: the compliance screen's
            # deadlines come from this index in order (its keyset's ties broken by id), however
            # many orders are open, on the first page as on the last.
            models.Index(
                models.Case(
                    models.When(
                        state__in=DATED_STATE_VALUES,
                        then=models.functions.Coalesce("consented_until", "deadline"),
                    ),
                    default=None,
                    output_field=models.DateField(),
                ),
                "id",
                name="compliance_ship_by_idx",
                condition=models.Q(state__in=DATED_STATE_VALUES),
            ),
            # The few orders the engine could not decide (the compliance screen's list), in
            # the order it lists them, without reading the whole table.
            models.Index(
                fields=["engine_failed_at", "order"],
                name="compliance_engine_failure_idx",
                condition=~models.Q(engine_failure=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} ({self.state})"


class DelayNotice(models.Model):
    class Kind(models.TextChoices):
        FIRST = "first", "First delay option notice"
        RENEWED = "renewed", "Renewed option notice"

    class ClosedReason(models.TextChoices):
        IN_STOCK = "in_stock", "The delayed items came into stock and are set aside"
        SHIPPED = "shipped", "The delayed items shipped"
        CANCELLED = "cancelled", "The delayed items were cancelled"
        REPLACED = "replaced", "A newer notice replaced it"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="delay_notices")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    branch = models.CharField(max_length=1, choices=OrderCompliance.Branch.choices, blank=True)
    deadline = models.DateField(help_text="The date that can no longer be met (T or consented).")
    revised_date = models.DateField(null=True, blank=True, help_text="Empty: no date can be given.")
    delay_reason = models.CharField(max_length=300)
    answer_by = models.DateField(help_text="Silence is read at the end of this store day.")
    decision_key = models.CharField(max_length=120, unique=True)
    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    # A notice closes once its reason is gone; the customer is no longer asked to answer it.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=12, choices=ClosedReason.choices, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True, closed_reason="")
                | models.Q(closed_at__isnull=False) & ~models.Q(closed_reason=""),
                name="delaynotice_closed_with_reason",
                violation_error_message="A closed notice says why it closed.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.order_id}"


class ConsentAnswer(models.Model):
    """The customer's answer to a notice; the first one counts."""

    class Choice(models.TextChoices):
        WAIT_UNTIL = "wait_until", "I'll wait until the revised date"
        WAIT_INDEFINITELY = "wait_indefinitely", "I'll wait, whatever the date"
        CANCEL = "cancel", "Cancel and refund"
        SUBSTITUTE = "substitute", "Send a substitute instead"

    notice = models.OneToOneField(DelayNotice, on_delete=models.CASCADE, related_name="answer")
    choice = models.CharField(max_length=20, choices=Choice.choices)
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True)
    substitute = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True)
    received_at = models.DateTimeField()
    via = models.CharField(max_length=20, default="status page")

    def __str__(self) -> str:
        return f"{self.get_choice_display()} ({self.notice_id})"


class NoticeFollowUp(models.Model):
    """A delay notice whose email did not reach the buyer: staff must tell them another way
    (phone, letter) before the notice's deadline, or the order is cancelled at it."""

    notice = models.OneToOneField(DelayNotice, on_delete=models.CASCADE, related_name="follow_up")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notice_follow_ups")
    problem = models.CharField(max_length=200, help_text="Why the email did not count.")
    due_by = models.DateField(help_text="The buyer must be told by the end of this store day.")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    how = models.CharField(
        max_length=200, blank=True, help_text="How the buyer was told (e.g. phoned, read out)."
    )

    class Meta:
        ordering = ["due_by", "id"]
        indexes = [
            models.Index(
                fields=["due_by"], name="followup_open_idx", condition=models.Q(done_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"Tell the customer of order {self.order_id} by {self.due_by}"
