"""Dashboard suppliers: each supplier's scorecard in a sortable table, and a page per supplier
with its latest receipts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from inventory.services import PurchaseLineRequest, supplier_create
from orders.services import (
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from tests.factories import ProductFactory, UserFactory
from tests.shown import shown

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)


def day(n: int) -> dt.date:
    return MONDAY.date() + dt.timedelta(days=n)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def managed(client):
    """A manager's client, logged in when first used (after the history is built: a session
    does not outlive the weeks the clock travels)."""

    class LoggedIn:
        def get(self, *args, **kwargs):
            if "_auth_user_id" not in client.session:
                user = UserFactory(username="morgan")
                user.groups.add(Group.objects.get(name="Managers"))
                client.force_login(user)
            return client.get(*args, **kwargs)

    return LoggedIn()


def history(clock, supplier, slips: list[int]) -> None:
    """One 10-unit line per slip, promised for day 10, moved once when late, received in full."""
    for slip in slips:
        clock.move_to(MONDAY)
        po = purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(ProductFactory(on_hand=0), 10, day(10))],
            send=True,
        )
        line = po.lines.get()
        if slip > 0:
            purchase_order_line_reschedule(line=line, expected_date=day(10 + slip), reason="Late")
        clock.move_to(MONDAY + dt.timedelta(days=10 + slip))
        purchase_order_line_receive(line=line, quantity=10)
    clock.move_to(MONDAY + dt.timedelta(days=30))


def rows(response) -> list[list[str]]:
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_table_shows_each_suppliers_scorecard_and_sorts_by_any_figure(
    clock, managed, django_assert_max_num_queries
):
    history(clock, supplier_create(name="Acme Lighting"), [0, 0, 2, 5])
    history(clock, supplier_create(name="Brightside"), [-1, 0, 0])
    supplier_create(name="Cold Frame Ltd")

    managed.get(reverse("dashboard:suppliers"))  # logs in
    with django_assert_max_num_queries(8):
        response = managed.get(reverse("dashboard:suppliers"))

    assert response.status_code == 200
    assert rows(response) == [
        ["Acme Lighting", "4", "50%", "1.0 d", "5 d", "100%", "0.5"],
        ["Brightside", "3", "100%", "0.0 d", "0 d", "100%", "0.0"],
        ["Cold Frame Ltd", "0", "—", "—", "—", "—", "—"],
    ]
    by_on_time = managed.get(reverse("dashboard:suppliers"), {"sort": "-on_time"})
    assert [row[0] for row in rows(by_on_time)] == ["Brightside", "Acme Lighting", "Cold Frame Ltd"]
    assert 'aria-sort="descending"' in by_on_time.content.decode()
    # A bad sort or window falls back to names over 180 days.
    fallback = managed.get(reverse("dashboard:suppliers"), {"sort": "evil", "days": "7"})
    assert [row[0] for row in rows(fallback)][0] == "Acme Lighting"


def test_the_supplier_page_lists_its_receipts_against_their_promise(clock, managed):
    acme = supplier_create(name="Acme Lighting", email="orders@acme.example")
    history(clock, acme, [3, -2])

    response = managed.get(reverse("dashboard:supplier", args=[acme.pk]))

    page = response.content.decode()
    assert "2 receipts in the last 180 days" in page
    assert [row[0] for row in rows(response)] == [shown(day(13)), shown(day(8))]
    assert [row[4:7] for row in rows(response)] == [
        [shown(day(10)), shown(day(13)), "3 days late"],
        [shown(day(10)), shown(day(10)), "2 days early"],
    ]
    assert managed.get(reverse("dashboard:supplier", args=[acme.pk + 99])).status_code == 404


def test_operations_staff_cannot_see_suppliers(client):
    acme = supplier_create(name="Acme Lighting")
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)
    assert client.get(reverse("dashboard:suppliers")).status_code == 403
    assert client.get(reverse("dashboard:supplier", args=[acme.pk])).status_code == 403


def test_the_supplier_reliability_report_and_its_csv(clock, managed):
    acme = supplier_create(name="Acme Lighting")
    history(clock, acme, [0, 1, 3, -1])
    supplier_create(name="Brightside")

    page = managed.get(reverse("dashboard:reports"), {"report": "supplier-reliability"})
    export = managed.get(
        reverse("dashboard:report_export", args=["supplier-reliability"]), {"days": 90}
    )

    assert f'href="{reverse("dashboard:supplier", args=[acme.pk])}"' in page.content.decode()
    assert export["Content-Disposition"] == (
        'attachment; filename="supplier-reliability-90-days.csv"'
    )
    assert export.content.decode().splitlines() == [
        "Supplier,Receipts,On time,Median slip (days),90th percentile slip (days),Fill rate,"
        "Date moves per line",
        "Acme Lighting,4,50.0%,0.5,3,100.0%,0.5",
        "Brightside,0,—,,,—,",
    ]
