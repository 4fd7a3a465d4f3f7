"""A shopper joins a product's waitlist through the form a shop embeds in its own page (a
frame from another site, where the browser keeps cookies back), on a laptop and on a phone,
clicking twice; and leaves the list from the email's link.

Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive in this thread.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from storefront.models import WaitlistEntry
from storefront.waitlist.selectors import leave_token
from storefront.waitlist.services import waitlist_join
from tests.browser.other_site import other_site
from tests.browser.test_dashboard_flows import log_in, staff
from tests.browser.test_double_submit import in_another_thread
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [("desktop", 1280, 900), ("phone", 390, 844)]


def shop_page(form_url: str) -> str:
    """The shop's own product page, with our form in a frame."""
    return f"""<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
<title>Desk Lamp - Corner Shop</title></head>
<body style="font-family:sans-serif;margin:16px">
<h1>Desk Lamp</h1><p><strong>Sold out.</strong></p>
<iframe src="{form_url}" title="Waitlist" style="width:100%;max-width:520px;height:300px;border:0">
</iframe></body></html>"""


@pytest.fixture
def shop(live_server) -> Iterator[str]:
    """The shop's site: another site than the live server's (127.0.0.1, not localhost), so the
    frame's cookies are third-party there, served for real (the browser refuses a page it
    cannot place on the network framing a local one)."""
    page = shop_page(f"{live_server.url}/waitlist/LAMP-1/")
    with other_site(lambda: page) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def lamp() -> Product:
    return ProductFactory(
        sku="LAMP-1", name="Desk Lamp", on_hand=0, backorder_policy=Product.BackorderPolicy.DENY
    )


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_a_shopper_joins_through_the_form_framed_on_a_shop_page(
    lamp, shop, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    posts: list[tuple[int, str | None]] = []
    page.on(
        "response",
        lambda r: (
            posts.append((r.status, r.request.headers.get("origin")))
            if r.request.method == "POST"
            else None
        ),
    )
    page.goto(f"{shop}/lamp")
    form = page.frame_locator("iframe[title=Waitlist]")
    expect(form.get_by_role("heading", name="Tell me when it's back")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"waitlist-form-{name}.png"), full_page=True)

    form.get_by_label("Email address").fill("Ann@Example.com")
    form.get_by_role("button", name="Notify me").dblclick()

    expect(form.get_by_role("heading", name="You're on the list")).to_be_visible()
    expect(form.get_by_text("We'll email you when Desk Lamp is back in stock.")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"waitlist-thanks-{name}.png"), full_page=True)
    frame_width = page.frames[1].evaluate("document.documentElement.scrollWidth")
    assert frame_width <= page.frames[1].evaluate("window.innerWidth")
    context.close()

    # One post (the second click did nothing), from the form's own origin, accepted.
    assert posts == [(302, live_server.url)]
    entries = in_another_thread(lambda: list(WaitlistEntry.objects.values_list("email", "product")))
    assert entries == [("ann@example.com", lamp.pk)]


@pytest.fixture
def leave_url(lamp) -> str:
    entry = waitlist_join(product=lamp, email="ann@example.com").entry
    return f"/waitlist/leave/{leave_token(entry=entry)}/"


def test_a_shopper_leaves_from_the_email_link(leave_url, live_server, browser, screenshot_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + leave_url)
    expect(page.get_by_text("ann@example.com is on the waitlist for this product.")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Leave the waitlist").click()
    page.wait_for_load_state()
    assert posted.value.status == 200
    expect(page.get_by_text("You have left the waitlist.")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "waitlist-left-phone.png"), full_page=True)
    context.close()

    assert in_another_thread(lambda: WaitlistEntry.objects.get().left_at) is not None


@pytest.fixture
def told(lamp) -> tuple[int, str]:
    """Three shoppers on the lamp's waitlist; one unit came, so the first was told. And the
    operator who looks."""
    from storefront.waitlist.services import waitlist_invite_for_product
    from tests.factories import receive

    for email in ("ann@example.com", "bob@example.com", "cat@example.com"):
        waitlist_join(product=lamp, email=email)
    receive(lamp, 1)
    waitlist_invite_for_product(product=lamp)
    return lamp.pk, staff("olivia", "Operations")


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_staff_see_the_waitlist_on_the_product_page(
    told, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    product_id, operator = told
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    log_in(page, live_server, operator)
    page.goto(f"{live_server.url}/dashboard/products/{product_id}/#waitlist")
    section = page.locator("#waitlist")
    expect(
        section.get_by_role("heading", name="Waitlist (2 waiting, 1 told it is back)")
    ).to_be_visible()
    expect(section.get_by_text("ann@example.com")).to_be_visible()
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(screenshot_dir / f"waitlist-staff-{name}.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
