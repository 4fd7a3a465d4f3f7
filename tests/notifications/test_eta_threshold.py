"""Which ETA changes a customer is told about (the rule behind the batched ETA email)."""

import pytest

from notifications.services import eta_changes_worth_telling


def change(old, new, old_source="po", source="po"):
    return {"sku": "LAMP", "old": old, "new": new, "old_source": old_source, "source": source}


@pytest.mark.parametrize(
    ("row", "told"),
    [
        (change("2026-03-10", "2026-03-11"), True),  # a PO slipped by a day: later is news
        (change("2026-03-10", "2026-03-09"), False),  # one day earlier: not worth an email
        (change("2026-03-10", "2026-03-08"), True),  # two days earlier: good news
        (change("2026-03-10", None, source="unknown"), True),  # the date is gone
        (change(None, "2026-03-10", old_source="unknown"), True),  # a date at last
        (change(None, "2026-03-10", old_source=""), False),  # first estimate: in the confirmation
        (change("2026-03-10", "2026-03-10"), False),  # nothing moved
        # A lead-time estimate creeping a day later as days pass: not news...
        (change("2026-03-10", "2026-03-11", "lead_time", "lead_time"), False),
        # ...but a bigger jump is, and so is leaving the purchase order for the lead time.
        (change("2026-03-10", "2026-03-12", "lead_time", "lead_time"), True),
        (change("2026-03-10", "2026-03-11", "po", "lead_time"), True),
    ],
)
def test_which_changes_are_worth_an_email(row, told):
    assert (eta_changes_worth_telling({"changes": {"1": row}}) == [row]) is told
