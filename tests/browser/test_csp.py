"""In real Chromium, with the Content-Security-Policy active: a manager logs in through the
dashboard's own login page, every dashboard page loads without a single CSP violation, and the
pages' scripts still work (the live quote on the new-order page, the packing slip's Print).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from dashboard.access import GROUPS
from inventory.models import Product
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order
from orders.selectors import order_status_url, store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password


@dataclass
class Shop:
    username: str
    pages: list[str]


@pytest.fixture
def shop() -> Shop:
    import datetime as dt

    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="dashboard", codename__in=GROUPS["Managers"]
        )
    )
    UserFactory(username="morgan").groups.add(group)
    lamp = ProductFactory(sku="LAMP-9", name="Reading lamp", on_hand=1, lead_time_days=14)
    po = purchase_order_create(
        supplier=supplier_create(name="Acme Lighting", lead_time_days=14),
        lines=[PurchaseLineRequest(lamp, 4, store_today() + dt.timedelta(days=5))],
        send=True,
    )
    ready = place_order((lamp, 1), customer=CustomerFactory(email="ada@example.com"))
    waiting = place_order((lamp, 2), customer=CustomerFactory(email="ben@example.com"))
    line = po.lines.get()
    return Shop(
        username="morgan",
        pages=[
            "/dashboard/",
            "/dashboard/?days=90",
            "/dashboard/queue/",
            "/dashboard/products/",
            f"/dashboard/products/{lamp.pk}/",
            "/dashboard/orders/",
            f"/dashboard/orders/{waiting.pk}/",
            "/dashboard/orders/new/",
            "/dashboard/receive/",
            "/dashboard/ship/",
            f"/dashboard/ship/{ready.pk}/",
            f"/dashboard/ship/{ready.pk}/packing-slip/",
            "/dashboard/purchase-orders/",
            "/dashboard/purchase-orders/new/",
            f"/dashboard/purchase-orders/{po.pk}/",
            f"/dashboard/purchase-orders/lines/{line.pk}/reschedule/",
            "/dashboard/compliance/",
            *(f"/dashboard/reports/?report={slug}" for slug in REPORT_SLUGS),
            order_status_url(order=waiting).split("://", 1)[1].split("/", 1)[1].join(["/", ""]),
        ],
    )


REPORT_SLUGS = [
    "most-backordered",
    "wait-times",
    "eta-accuracy",
    "fill-rate",
    "delay-cancellations",
    "revenue-waiting",
]


def test_every_dashboard_page_runs_under_the_csp_without_a_violation(live_server, shop, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message) -> None:
        # The browser's own request for a favicon is not the page's doing.
        if message.type in {"error", "warning"} and "favicon" not in message.location["url"]:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    # A page reports each blocked script or style with a securitypolicyviolation event.
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"
    )

    # Log in through the dashboard's own page.
    page.goto(f"{live_server.url}/dashboard/queue/")
    page.wait_for_url(re.compile(r"/dashboard/login/\?next=/dashboard/queue/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(shop.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/queue/$"))
    expect(page.get_by_role("button", name=f"Log out {shop.username}")).to_be_visible()

    for path in shop.pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The page's own stylesheets applied (a blocked sheet would leave the default look).
        assert page.evaluate("document.styleSheets.length") >= 1, path
        violations = page.evaluate("window.__csp")
        assert violations == [], (path, violations)
    assert problems == []

    # The new-order page's script: typing a SKU fetches the live quote.

    page.goto(f"{live_server.url}/dashboard/orders/new/")
    page.get_by_label("Line 1 SKU").fill("LAMP-9")
    page.get_by_label("Line 1 quantity").fill("3")
    # Ada's order took the one lamp on hand: all three wait for the purchase order.
    expect(page.locator("#quote-0")).to_contain_text("3 backordered")
    assert page.locator("#quote-0").inner_text().startswith("Backorder 3 backordered; ETA ")
    assert page.evaluate("window.__csp") == []

    # The packing slip's Print button calls window.print() from the static script.
    page.goto(f"{live_server.url}/dashboard/orders/")
    page.goto(f"{live_server.url}{shop.pages[11]}")
    # (Ends in null: Playwright would call a function the expression evaluated to.)
    page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }; null")
    assert page.evaluate("window.__printed") == 0
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("document.querySelectorAll('script[src*=print]').length") == 1
    assert page.evaluate("window.__printed") == 1

    # Logging out is a POST back to the login page.
    page.get_by_role("button", name=f"Log out {shop.username}").click()
    page.wait_for_url(re.compile(r"/dashboard/login/$"))
    assert page.evaluate("window.__csp") == []
    assert problems == []
    context.close()


@pytest.fixture
def admin_pages(shop) -> list[str]:
    """A superuser "root", and the admin pages to visit (made before the browser starts)."""
    from django.urls import reverse

    UserFactory(username="root", is_staff=True, is_superuser=True)
    product = Product.objects.get(sku="LAMP-9")
    order = Order.objects.order_by("pk").last()
    assert order is not None
    return [
        "/admin/",
        reverse("admin:inventory_product_changelist"),
        reverse("admin:inventory_product_add"),
        reverse("admin:inventory_purchaseorder_changelist"),
        reverse("admin:inventory_purchaseorderline_changelist"),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:compliance_ordercompliance_changelist"),
        reverse("admin:compliance_record", args=[order.pk]),
        reverse("admin:axes_accessattempt_changelist"),
        # Last: its date widget is checked below.
        reverse("admin:inventory_product_change", args=[product.pk]),
    ]


def test_the_admin_runs_under_the_csp_without_a_violation(live_server, admin_pages, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))

    for path in admin_pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200, path
        assert page.evaluate("window.__csp") == [], path
    # The admin's date widget (static JavaScript) still adds its "Today" shortcut.
    expect(page.get_by_role("link", name="Today").first).to_be_visible()
    context.close()
