"""A store's product page on another origin embeds the availability widget: it shows "In stock"
or "Backordered — ships by …", and a page on an origin the channel did not allow gets nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import store_today
from orders.services import purchase_order_create
from storefront.models import ApiKey
from storefront.selectors import product_availability
from storefront.services import api_key_create, channel_create, channel_origins_set
from tests.browser.other_site import other_site
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

STORE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Brass lamp — Corner Shop</title></head>
<body style="font: 16px system-ui; margin: 2rem">
  <h1>Brass lamp</h1>
  <p>$49.00</p>
  <p id="lamp"><script src="{script}" data-key="{key}" data-sku="LAMP-4" async></script></p>
  <h2>You may also like</h2>
  <p>Mug: <span id="mug" data-backorder-desk-sku="MUG-1"></span></p>
</body></html>"""


@dataclass
class Store:
    key: str
    origin: str
    ships_by: dt.date


@pytest.fixture
def store_server(live_server) -> Iterator[tuple[int, dict[str, str]]]:
    """The store's own web server: one product page that embeds the live server's widget."""
    served: dict[str, str] = {}
    with other_site(lambda: served["html"]) as port:
        yield port, served


@pytest.fixture
def store(live_server, store_server) -> Store:
    port, served = store_server
    origin = f"http://127.0.0.1:{port}"
    assert urlsplit(live_server.url).hostname == "localhost"  # another origin than the store's
    channel = channel_origins_set(channel=channel_create(name="Corner Shop"), origins=[origin])
    supplier = supplier_create(name="Brightside Lighting")
    lamp = ProductFactory(sku="LAMP-4", name="Brass lamp", on_hand=0, preferred_supplier=supplier)
    purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 5, store_today() + dt.timedelta(days=5))],
        send=True,
    )
    ProductFactory(sku="MUG-1", name="Mug", on_hand=4)
    key = api_key_create(channel=channel, kind=ApiKey.Kind.PUBLISHABLE)[1]
    served["html"] = STORE_PAGE.format(
        script=f"{live_server.url}/static/storefront/availability.js", key=key
    )
    shown = product_availability(sku="LAMP-4")
    assert shown is not None
    assert shown.ships_by is not None
    return Store(key=key, origin=origin, ships_by=shown.ships_by)


def shown_date(day: dt.date) -> str:
    text = f"{day.day} {day.strftime('%b')}"
    return text if day.year == dt.datetime.now(tz=dt.UTC).year else f"{text} {day.year}"


def open_store_page(browser, store: Store, origin: str):
    page = browser.new_page(viewport={"width": 800, "height": 500})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{origin}/products/brass-lamp")
    return page, errors


def api_fetch(page, live_server, store: Store) -> str:
    url = f"{live_server.url}/api/v1/public/availability/?key={store.key}&sku=MUG-1"
    return page.evaluate(
        "url => fetch(url).then(r => r.json()).then(a => a.status, e => 'blocked: ' + e.message)",
        url,
    )


def test_a_product_page_on_the_stores_origin_shows_availability(
    live_server, store, browser, screenshot_dir
):
    page, _ = open_store_page(browser, store, store.origin)

    lamp = page.locator("#lamp .bd-availability")
    expect(lamp).to_have_text(f"Backordered — ships by {shown_date(store.ships_by)}")
    assert lamp.get_attribute("aria-live") == "polite"
    assert lamp.locator("time").get_attribute("datetime") == store.ships_by.isoformat()
    expect(page.locator("#mug")).to_have_text("In stock")
    assert api_fetch(page, live_server, store) == "in_stock"
    page.screenshot(path=str(screenshot_dir / "availability-widget-store.png"), full_page=True)
    page.close()


def test_a_page_on_another_origin_is_blocked_and_shows_nothing(
    live_server, store, browser, screenshot_dir
):
    # The same store server under its other name: an origin the channel did not list.
    stranger = store.origin.replace("127.0.0.1", "localhost")
    page, errors = open_store_page(browser, store, stranger)

    assert api_fetch(page, live_server, store) == "blocked: Failed to fetch"
    expect(page.locator("#mug")).to_have_text("")
    expect(page.locator("#lamp span")).to_have_text("")
    assert any("blocked by CORS policy" in error for error in errors)
    page.screenshot(path=str(screenshot_dir / "availability-widget-stranger.png"), full_page=True)
    page.close()


@pytest.fixture
def staff_session() -> str:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ada", "ada@example.com", "pw"))
    return client.cookies["sessionid"].value


@pytest.mark.parametrize(("name", "width"), [("desktop", 1280), ("phone", 390)])
def test_staff_preview_the_widget_and_copy_its_snippet(
    live_server, store, staff_session, browser, screenshot_dir, name: str, width: int
):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": staff_session, "url": live_server.url}])
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(f"{live_server.url}/storefront/widget-demo/")

    expect(page.locator("#availability")).to_have_text(
        f"Backordered — ships by {shown_date(store.ships_by)}"
    )
    expect(page.locator(".widget-snippet")).to_contain_text(f'data-key="{store.key}"')
    expect(page.get_by_text(store.origin, exact=True)).to_be_visible()
    assert not [text for text in console if "Content Security Policy" in text]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(
        path=str(screenshot_dir / f"availability-widget-demo-{name}.png"), full_page=True
    )
    context.close()
