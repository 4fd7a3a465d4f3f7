"""The ship list leads with the orders due today or overdue, highlighted, and flags the unpaid;
the queue's pop-ups are dialogs outside the table's scroll area."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from compliance.services import rule_run
from config.calendar import store_today
from orders.models import Order
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    place_order,
    rule_deadline_set,
    staff_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


def _rows(html: str) -> list[tuple[str, str]]:
    """(row class, order number) of each row of the ship list, top to bottom."""
    return re.findall(
        r'<tr data-row( class="row-due")?>\s*<td data-label="Order"><a [^>]+>(BD-\d+)', html
    )


def test_due_and_overdue_orders_lead_the_list_highlighted(operations, django_assert_num_queries):
    today = store_today()
    phone = ProductFactory(on_hand=10)
    oldest = place_order((phone, 1), customer=CustomerFactory(name="Oldest"))
    priority = place_order((phone, 1), is_priority=True)
    due_today = place_order((phone, 1))
    overdue = place_order((phone, 1))
    later = place_order((phone, 1))
    rule_run()
    for order, deadline in (
        (oldest, today + dt.timedelta(days=20)),
        (priority, today + dt.timedelta(days=20)),
        (due_today, today),
        (overdue, today - dt.timedelta(days=2)),
        (later, today + dt.timedelta(days=1)),
    ):
        rule_deadline_set(order, deadline)

    with django_assert_num_queries(9):
        html = operations.get(reverse("dashboard:ship")).content.decode()

    assert _rows(html) == [
        (' class="row-due"', overdue.number),
        (' class="row-due"', due_today.number),
        ("", priority.number),
        ("", oldest.number),
        ("", later.number),
    ]
    assert "overdue</span>" in html
    assert "due today</span>" in html


def test_unpaid_orders_are_flagged_on_the_ship_list(operations):
    phone = ProductFactory(on_hand=3)
    unpaid = place_order((phone, 1), paid=False, payment_method=Order.PaymentMethod.CHECK)
    cod = place_order((phone, 1), paid=False, payment_method=Order.PaymentMethod.COD)
    paid = place_order((phone, 1))

    html = operations.get(reverse("dashboard:ship")).content.decode()

    flagged = re.findall(r">(BD-\d+)</a>(?:(?!</td>).)*Unpaid</span>", html)
    assert flagged == [unpaid.number]
    assert cod.number in html
    assert paid.number in html


def test_queue_dialogs_sit_outside_the_scroll_area(client):
    client.force_login(staff_in("Managers"))
    line = place_order((ProductFactory(on_hand=0), 1), paid=False).lines.get()

    html = client.get(reverse("dashboard:queue")).content.decode()

    table_wrap = html[html.index('<div class="table-wrap') : html.index("</table>")]
    assert "<dialog" not in table_wrap
    assert f'<dialog id="prio-dialog-{line.pk}"' in html
    assert f'<dialog id="cancel-dialog-{line.pk}"' in html
    assert f'data-dialog="prio-dialog-{line.pk}"' in table_wrap


def test_pages_run_from_the_orders_due_into_the_others_in_the_lists_order(operations, monkeypatch):
    """The list is read as two parts (due, then the others), each in an index's order: the
    pages together give ready_to_ship() exactly, a page straddling the two included."""
    from dashboard.shipping import views
    from dashboard.shipping.selectors import ready_to_ship

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    today = store_today()
    phone = ProductFactory(on_hand=10)
    orders = [place_order((phone, 1), is_priority=i == 4) for i in range(7)]
    rule_run()
    for order, days in zip(orders, (-3, 0, -3, 5, 9, 1, 20), strict=True):
        rule_deadline_set(order, today + dt.timedelta(days=days))

    shown = []
    for page in (1, 2, 3, 4):
        html = operations.get(reverse("dashboard:ship"), {"page": page}).content.decode()
        shown += [number for _, number in _rows(html)]

    expected = list(ready_to_ship(today=today).values_list("number", flat=True))
    assert shown == expected
    assert expected == [orders[i].number for i in (0, 2, 1, 4, 3, 5, 6)]


def test_the_count_of_the_two_parts_stops_at_the_bound(monkeypatch):
    from dashboard import paging
    from dashboard.paging import ChainedPaginator

    monkeypatch.setattr(paging, "COUNT_LIMIT", 3)
    phone = ProductFactory(on_hand=10)
    for _ in range(6):
        place_order((phone, 1))
    held = Order.objects.filter(holds_stock=True).order_by("pk")

    paginator = ChainedPaginator([held.filter(pk__lte=held[1].pk), held], 2)

    assert paginator.part_counts == [2, 2]
    assert paginator.count_label == "3+"
