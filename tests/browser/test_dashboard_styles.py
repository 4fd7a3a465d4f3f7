"""In real Chromium: every area's page still gets its stylesheet from static/ (no <style> blocks,
no style="" layout attributes), so the overview, queue, orders and purchase-order pages keep
their look. Screenshots of each page land in the screenshot directory for a look by eye."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission

from dashboard.access import GROUPS
from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password


@pytest.fixture
def pages() -> dict[str, str]:
    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="dashboard", codename__in=GROUPS["Managers"]
        )
    )
    UserFactory(username="morgan").groups.add(group)
    lamp = ProductFactory(sku="LAMP-7", name="Reading lamp", on_hand=1, lead_time_days=14)
    po = purchase_order_create(
        supplier=supplier_create(name="Acme Lighting", lead_time_days=14),
        lines=[PurchaseLineRequest(lamp, 4, store_today() + dt.timedelta(days=5))],
        send=True,
    )
    place_order((lamp, 1), customer=CustomerFactory(email="ada@example.com"))
    place_order((lamp, 2), customer=CustomerFactory(email="ben@example.com"))
    return {
        "overview": "/dashboard/",
        "queue": "/dashboard/queue/",
        "orders": "/dashboard/orders/",
        "product": f"/dashboard/products/{lamp.pk}/",
        "purchase-order": f"/dashboard/purchase-orders/{po.pk}/",
    }


def computed(page, selector: str, prop: str) -> str:
    return page.evaluate(
        "([s, p]) => getComputedStyle(document.querySelector(s)).getPropertyValue(p)",
        [selector, prop],
    )


def test_each_area_keeps_its_styling_from_static_files(
    live_server, pages, browser, screenshot_dir: Path
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/dashboard/login/")
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))

    seen: dict[str, dict[str, str]] = {}
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200, path
        html = page.content()
        assert "<style" not in html, path
        assert ' style="' not in html, path
        page.screenshot(path=str(screenshot_dir / f"dashboard-{name}.png"), full_page=True)
        seen[name] = {
            "sheets": ",".join(
                sorted(
                    Path(href).name
                    for href in page.evaluate(
                        "Array.from(document.styleSheets).map(s => s.href || '')"
                    )
                    if href
                )
            )
        }
        if name == "overview":
            seen[name]["card-head"] = computed(page, ".card-head", "display")
        if name == "queue":
            seen[name]["table card padding"] = computed(page, ".table-wrap.card", "padding-top")
            seen[name]["row actions"] = computed(page, ".row-actions", "display")
        if name == "orders":
            seen[name]["filters"] = computed(page, ".filters.card", "align-items")
        if name == "product":
            seen[name]["stats"] = computed(page, ".stats", "grid-template-columns")
        if name == "purchase-order":
            seen[name]["supplier"] = computed(page, ".stat .value.text-value", "font-size")
    context.close()

    assert seen["overview"]["sheets"] == "app.css,dashboard-overview.css,dashboard.css"
    assert seen["overview"]["card-head"] == "flex"
    assert (
        seen["queue"]["sheets"]
        == "actions.css,app.css,dashboard-lists.css,dashboard-queue.css,dashboard.css"
    )
    assert seen["queue"]["table card padding"] == "0px"
    assert seen["queue"]["row actions"] == "flex"
    assert (
        seen["orders"]["sheets"] == "app.css,dashboard-lists.css,dashboard-orders.css,dashboard.css"
    )
    assert seen["orders"]["filters"] == "flex-end"
    assert seen["product"]["sheets"] == "app.css,dashboard-queue.css,dashboard.css"
    # Tiles of at least 140px, several to a row at 1280px.
    assert len(seen["product"]["stats"].split()) > 3
    assert seen["purchase-order"]["supplier"] == "17.6px"
