from __future__ import annotations

from django import forms

from storefront.models import SalesChannel, WebhookDelivery


class DeliveryFilterForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=SalesChannel.objects.order_by("name"), required=False, empty_label="Any channel"
    )
    state = forms.ChoiceField(
        choices=[("", "Any state"), *WebhookDelivery.State.choices], required=False
    )
