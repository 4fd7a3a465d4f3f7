"""What every dashboard form shares."""

from __future__ import annotations

from typing import Any

from django import forms


class StaffForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
