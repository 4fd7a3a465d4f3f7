"""The goodwill rule form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from orders.models import GoodwillRule
from storefront.models import SalesChannel

from ..forms import StaffForm


class GoodwillRuleForm(StaffForm):
    name = forms.CharField(label="Name", max_length=100)
    trigger = forms.ChoiceField(
        label="When", choices=GoodwillRule.Trigger.choices, initial=GoodwillRule.Trigger.LONG_WAIT
    )
    wait_days = forms.IntegerField(
        label="Wait longer than (days)",
        required=False,
        min_value=1,
        max_value=365,
        help_text="Store days since the order was placed; only for the long-wait trigger.",
    )
    gesture = forms.ChoiceField(label="Gesture", choices=GoodwillRule.Gesture.choices)
    amount = forms.DecimalField(
        label="Amount ($)",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="The credit, the amount off, or what the shipping upgrade costs the shop.",
    )
    discount_percent = forms.IntegerField(
        label="Discount (%)",
        required=False,
        min_value=1,
        max_value=100,
        help_text="For a discount code worth a percentage instead of an amount.",
    )
    monthly_budget = forms.DecimalField(
        label="Monthly budget ($)",
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="What the rule may give away in one calendar month, store time.",
    )
    channel = forms.ModelChoiceField(
        label="Channel",
        queryset=SalesChannel.objects.order_by("name"),
        required=False,
        empty_label="All orders",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    @classmethod
    def for_rule(cls, rule: GoodwillRule, **kwargs: Any) -> GoodwillRuleForm:
        initial = {name: getattr(rule, name) for name in cls.base_fields}
        return cls(initial=initial, **kwargs)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["amount"] = data.get("amount") or Decimal("0")
        return data
