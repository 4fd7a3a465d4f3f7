"""The order page's goodwill section: the gesture the order was given, or, for Managers, the
active rules to give one by hand, each with what its budget has left this month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms

from config.formats import format_money
from orders.goodwill.selectors import RuleUsage, goodwill_rules_usage
from orders.models import GoodwillGrant, GoodwillRule, Order

from ..access import can_manage
from ..forms import StaffForm


def active_rules(*, now: dt.datetime) -> list[RuleUsage]:
    """The active rules with this month's budget used, by name."""
    return [usage for usage in goodwill_rules_usage(now=now) if usage.rule.is_active]


class GoodwillGrantForm(StaffForm):
    rule = forms.TypedChoiceField(
        label="Rule",
        coerce=int,
        help_text="The gesture and its cost come from the rule; the customer hears of it in "
        "the next email about the order.",
        error_messages={
            "required": "Choose the rule whose gesture to give.",
            "invalid_choice": "Choose one of the active rules listed.",
        },
    )

    def __init__(self, *args: Any, rules: list[RuleUsage], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "goodwill-%s")
        super().__init__(*args, **kwargs)
        self.rules = {usage.rule.pk: usage.rule for usage in rules}
        field: Any = self.fields["rule"]
        field.choices = [("", "Choose a rule…")] + [
            (
                usage.rule.pk,
                f"{usage.rule.name} — {usage.rule.gesture_text} — "
                f"{format_money(usage.left)} left this month",
            )
            for usage in rules
        ]

    def chosen(self) -> GoodwillRule:
        return self.rules[self.cleaned_data["rule"]]


@dataclass(frozen=True)
class GoodwillSection:
    grant: GoodwillGrant | None
    waiting: bool  # a unit of the order still waits
    form: GoodwillGrantForm | None  # Managers, when the order may still get a gesture
    errors: list[str]  # why a gesture just asked for was refused


def goodwill_section(
    *,
    order: Order,
    waiting: bool,
    user: Any,
    now: dt.datetime,
    form: GoodwillGrantForm | None = None,
) -> GoodwillSection:
    """What the section shows: the grant, else the form (a bound one after a refusal)."""
    grant = GoodwillGrant.objects.select_related("rule").filter(order_id=order.pk).first()
    errors = [str(e) for e in form.non_field_errors()] if form is not None else []
    if grant is None and waiting and can_manage(user):
        form = form or GoodwillGrantForm(rules=active_rules(now=now))
        errors = []  # the form shows its own
    else:
        form = None
    return GoodwillSection(grant=grant, waiting=waiting, form=form, errors=errors)
