"""Every form a visitor who is not signed in can post works in a real browser, with CSRF checked
as in production; and a new public POST address cannot appear without its browser test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.views.generic import RedirectView
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password
HERE = Path(__file__).parent

# Each address anyone may post to, and the browser tests that click its forms in Chromium.
PUBLIC_POSTS = {
    "customer:consent": "test_status_page_answers.py",
    "customer:cancel": "test_status_page_answers.py",
    "admin:login": "test_public_forms.py",
    "dashboard:login": "test_login.py",
    "dashboard:logout": "test_login.py",
    "waitlist:join": "test_waitlist_form.py",
    "waitlist:leave": "test_waitlist_form.py",
}
# The email provider's webhook is posted by the provider, not by a browser form; the admin's
# other pages all ask for a staff login first; the storefront API asks for a channel's key
# (tests/storefront); Shopify and WooCommerce sign their order webhooks (tests/storefront).
NOT_BROWSER_FORMS = ("anymail", "admin", "api", "intake")


def _routes(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(x for x in (namespace, pattern.namespace or "") if x)
            yield from _routes(pattern, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield namespace, pattern, prefix + str(pattern.pattern)


def _sample_path(route: str) -> str:
    """A concrete path for a route: 1 for each <int:...>, a word for any other converter."""
    route = re.sub(r"<int:\w+>", "1", route)
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "sample", route)


def test_every_public_post_address_has_a_browser_test():
    client = Client()  # not signed in
    public = set()
    for namespace, pattern, route in _routes(get_resolver()):
        view_class = getattr(pattern.callback, "view_class", None)
        if namespace in NOT_BROWSER_FORMS or (view_class and issubclass(view_class, RedirectView)):
            continue
        assert isinstance(pattern.pattern, RoutePattern), f"{route}: give it a sample path"
        response = client.post(_sample_path(route), {})
        signs_in_first = response.status_code == 302 and response["Location"].startswith(
            ("/admin/login/", f"{resolve_url(settings.LOGIN_URL)}?")
        )
        if response.status_code != 405 and not signs_in_first:
            public.add(f"{namespace}:{pattern.name}")

    assert public == {name for name in PUBLIC_POSTS if not name.startswith("admin:")}
    for test_file in PUBLIC_POSTS.values():
        assert (HERE / test_file).exists()


@pytest.fixture
def staff_user() -> str:
    return UserFactory(username="olivia").username


@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
def test_signing_in_works_in_chromium(
    staff_user: str, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/dashboard/")

    page.get_by_label("Username").fill(staff_user)
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert refused.value.status == 200
    expect(page.get_by_text("Please enter the correct username and password")).to_be_visible()

    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as accepted:
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert accepted.value.status == 302
    assert accepted.value.request.headers.get("origin") == live_server.url
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(screenshot_dir / f"signed-in-{name}.png"), full_page=True)
    context.close()
