"""axe-core (bundled with axe-playwright-python; nothing is downloaded) finds no serious or
critical accessibility violation on any dashboard page, at a laptop's width and on the main pages
at a tablet's and a phone's too; nor on any page a customer (or anyone not signed in) can reach:
the order status page (plain, with the delay-consent choices, after an answer), the login page,
and the error pages (not found, an expired form, a bad request, a server error).

Everything the test needs from the database is made before the browser starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from compliance.services import order_rule_evaluate
from config.errors import error_page
from orders.selectors import order_status_url
from tests.browser.test_csp import PASSWORD, REPORT_SLUGS, Shop
from tests.browser.test_csp import shop as shop  # noqa: PLC0414 - the fixture, reused
from tests.browser.test_status_page_answers import delayed_order
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

BLOCKING = {"serious", "critical"}
VIEWPORTS = [
    pytest.param(1280, 900, id="laptop"),
    pytest.param(768, 1024, id="tablet"),
    pytest.param(390, 844, id="phone"),
]
# At a tablet's and a phone's width: every page but the report variants and a second overview.
NARROW_SKIPS = {"/dashboard/?days=90"} | {
    f"/dashboard/reports/?report={slug}" for slug in REPORT_SLUGS[1:]
}


def relative(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@dataclass
class Customer:
    status_page: str  # waiting, nothing to answer
    consent_page: str  # branch L: wait whatever the date, or cancel
    choices_page: str  # branch S: every answer, a substitute among them
    server_error: str  # the 500 page as the server renders it
    bad_request: str  # the 400 page


@pytest.fixture
def customer() -> Customer:
    stool = ProductFactory(sku="STOOL-1", name="Oak stool", on_hand=0, lead_time_days=None)
    chair = ProductFactory(sku="CHAIR-1", name="Oak chair", on_hand=0, lead_time_days=20)
    delayed = place_order((stool, 1), customer=CustomerFactory(email="cy@example.com"))
    order_rule_evaluate(order_id=delayed.pk)
    waiting = place_order((chair, 1), customer=CustomerFactory(email="dee@example.com"))
    anonymous = RequestFactory().get("/")
    return Customer(
        status_page=relative(order_status_url(order=waiting)),
        consent_page=relative(order_status_url(order=delayed)),
        choices_page=delayed_order().url,
        server_error=error_page(anonymous, status=500).content.decode(),
        bad_request=error_page(anonymous, status=400).content.decode(),
    )


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran on this page
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_no_serious_accessibility_violation_on_any_dashboard_page(
    live_server, shop: Shop, browser, screenshot_dir, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    page.goto(f"{live_server.url}/dashboard/login/")
    page.get_by_label("Username").fill(shop.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))

    pages = [*shop.pages, "/dashboard/no-such-page/"]
    if width < 1280:
        pages = [path for path in pages if path not in NARROW_SKIPS]
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        found[path] = violations(page)
    page.screenshot(path=str(screenshot_dir / f"error-404-staff-{width}.png"), full_page=True)
    context.close()
    assert {path: found_ for path, found_ in found.items() if found_} == {}


def serve(html: str, status: int):
    """A route handler answering with this page, as the server would."""

    def fulfil(route) -> None:
        route.fulfill(status=status, body=html, content_type="text/html; charset=utf-8")

    return fulfil


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_no_serious_accessibility_violation_on_any_customer_page(
    live_server, customer: Customer, browser, screenshot_dir, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str, status: int) -> None:
        assert page.evaluate("document.readyState") == "complete"
        found[name] = violations(page)
        page.screenshot(path=str(screenshot_dir / f"a11y-{name}-{width}.png"), full_page=True)
        assert (name, statuses[-1]) == (name, status)

    statuses: list[int] = []
    page.on(
        "response", lambda r: r.request.resource_type == "document" and statuses.append(r.status)
    )
    # What the server renders for a request it cannot read and for its own failure.
    for path, html, status in [
        ("/orders/x/server-error/", customer.server_error, 500),
        ("/orders/x/bad-request/", customer.bad_request, 400),
    ]:
        page.route(f"{live_server.url}{path}", serve(html, status))

    for name, path, status in [
        ("login", "/dashboard/login/", 200),
        ("status", customer.status_page, 200),
        ("consent", customer.consent_page, 200),
        ("choices", customer.choices_page, 200),
        ("not-found", "/orders/not-a-real-link/", 404),
        ("server-error", "/orders/x/server-error/", 500),
        ("bad-request", "/orders/x/bad-request/", 400),
    ]:
        page.goto(f"{live_server.url}{path}")
        check(name, status)

    # A form left open until its session is gone: "This form has expired".
    page.goto(f"{live_server.url}{customer.choices_page}")
    context.clear_cookies()
    page.get_by_role("button", name=re.compile("Cancel and refund")).click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    check("form-expired", 403)

    # The answer given, and the page that thanks for it.
    page.goto(f"{live_server.url}{customer.consent_page}")
    page.get_by_role("button", name=re.compile("Cancel and refund")).click()
    page.wait_for_load_state()
    check("answered", 200)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert {name: found_ for name, found_ in found.items() if found_} == {}
