"""Bounds on what a person may type: quantities, day counts and dates.

Model fields carry them as validators, so the admin's forms and the services' full_clean() get
them; the dashboard's forms use the same ones. Values beyond them were typing slips that broke
date arithmetic (a lead time of 2147483647 days, a ship date of 9999-12-31) or the database's
integer range (3e9 units) and answered a server error.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models

from config.calendar import store_today

# Most units in one receipt, adjustment or purchase order line.
MAX_QUANTITY = 1_000_000
# Largest amount of money one order line, shipping charge or refund may carry.
MAX_AMOUNT = Decimal("1000000")
# Longest lead time a supplier or product may have, and longest stated shipping time.
MAX_LEAD_TIME_DAYS = 365
# Dates people type (promised ship dates, release dates, expected dates) lie at most this far
# ahead, and not before EARLIEST_DATE (history stays valid; year 1 is a slip).
MAX_DAYS_AHEAD = 730
EARLIEST_DATE = dt.date(2000, 1, 1)

max_quantity = MaxValueValidator(
    MAX_QUANTITY, message=f"At most {MAX_QUANTITY:,} units at once (got %(show_value)s)."
)
max_lead_time = MaxValueValidator(
    MAX_LEAD_TIME_DAYS, message=f"At most {MAX_LEAD_TIME_DAYS} days (got %(show_value)s)."
)


def latest_date(today: dt.date | None = None) -> dt.date:
    return (today or store_today()) + dt.timedelta(days=MAX_DAYS_AHEAD)


def validate_plausible_date(value: dt.date) -> None:
    """From 2000-01-01 to two years from today."""
    if value < EARLIEST_DATE:
        raise ValidationError(
            f"{value.isoformat()} is too long ago: give a date from "
            f"{EARLIEST_DATE.isoformat()} on.",
            code="date_too_early",
        )
    latest = latest_date()
    if value > latest:
        raise ValidationError(
            f"{value.isoformat()} is more than two years ahead: give a date up to "
            f"{latest.isoformat()}.",
            code="date_too_late",
        )


def validate_not_past(value: dt.date) -> None:
    if value < store_today():
        raise ValidationError("The expected date cannot be in the past.", code="date_past")


# The largest primary key the database holds (bigint); SQLite cannot even compare a larger one.
MAX_ID = 2**63 - 1


def _is_id(value: object) -> bool:
    if isinstance(value, models.Model):
        return True
    text = str(value)
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField that refuses a value that cannot be an id before asking the database."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not _is_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """The same for a multiple choice: a value that cannot be an id is an invalid choice."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not _is_id(pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": str(pk)[:40]},
                )
        return super()._check_values(value)  # type: ignore[misc]  # private in the stubs
