"""Every count on the overview opens the list of exactly what it counts: "Lines at risk: 1"
opens that one line, "Orders waiting: 4" those four orders."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.dashboard.test_overview import at, build_shop
from tests.factories import staff_in

pytestmark = pytest.mark.django_db
DAY = at("2026-03-20", 12)


@pytest.fixture
def manager(client: Client) -> Client:
    build_shop()
    client.force_login(staff_in("Managers"))
    return client


def card(client: Client, label: str) -> tuple[str, str]:
    """(value, link) of the overview card with this label."""
    with time_machine.travel(DAY, tick=False):
        stats = client.get(reverse("dashboard:overview")).context["stats"]
    found = next(stat for stat in stats if stat.label == label)
    return found.value, found.href


def rows_on(client: Client, href: str) -> str:
    """The rows of the list a card links to (a section of it after '#')."""
    path, _, section = href.partition("#")
    with time_machine.travel(DAY, tick=False):
        html = client.get(path).content.decode()
    if section:
        html = html[html.index(f'id="{section}"') :]
        html = html[: html.index("</section>")]
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""


def row_count(client: Client, href: str) -> int:
    return rows_on(client, href).count("<tr")


def test_backordered_lines_opens_the_queue_of_those_lines(manager):
    value, href = card(manager, "Backordered lines")
    assert href == reverse("dashboard:queue")
    assert row_count(manager, href) == int(value) == 4


def test_backordered_units_opens_the_queue_whose_lines_wait_for_that_many_units(manager):
    value, href = card(manager, "Backordered units")
    waiting = re.findall(r'<td data-label="Waiting" class="num">(\d+)<', rows_on(manager, href))
    assert sum(int(units) for units in waiting) == int(value) == 4


def test_orders_waiting_opens_the_orders_with_backordered_units(manager):
    value, href = card(manager, "Orders waiting")
    assert href == reverse("dashboard:orders") + "?backordered=1"
    assert row_count(manager, href) == int(value) == 4


def test_lines_at_risk_opens_exactly_the_lines_at_risk(manager):
    value, href = card(manager, "Lines at risk")
    assert href == reverse("dashboard:queue") + "?at_risk=1"
    assert row_count(manager, href) == int(value) == 1


def test_notices_awaiting_answers_opens_the_orders_awaiting_an_answer(manager):
    value, href = card(manager, "Notices awaiting answers")
    assert href == reverse("dashboard:orders") + "?consent=awaiting_answer"
    assert row_count(manager, href) == int(value) == 1


def test_refunds_due_opens_the_refunds_due(manager):
    value, href = card(manager, "Refunds due")
    assert href == reverse("dashboard:compliance") + "#refunds"
    assert row_count(manager, href) == int(value) == 1


def test_customers_unreachable_opens_their_orders(manager):
    value, href = card(manager, "Customers unreachable")
    assert href == reverse("dashboard:orders") + "?unreachable=1"
    assert row_count(manager, href) == int(value) == 1


def test_operations_staff_follow_the_notices_card_to_the_orders_list(client):
    build_shop()
    client.force_login(staff_in("Operations"))
    value, href = card(client, "Notices awaiting answers")
    assert row_count(client, href) == int(value) == 1


def test_oldest_wait_opens_the_queue_with_that_line_on_top(manager):
    value, href = card(manager, "Oldest wait")
    assert href == reverse("dashboard:queue") + "?sort=-waited"
    waited = re.findall(
        r'<td data-label="Waited" class="num nowrap">(\d+) d</td>', rows_on(manager, href)
    )
    assert f"{waited[0]} days" == value
    assert int(waited[0]) == max(int(days) for days in waited)
