"""Joining the waitlist: through the storefront API, and through the public embeddable form
(CSRF-safe without a cookie, rate-limited, safe to submit twice); leaving by the email link."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from storefront.models import WaitlistEntry
from storefront.waitlist.selectors import leave_token
from storefront.waitlist.services import waitlist_join
from tests.factories import ProductFactory

from .conftest import ApiClient

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lamp():
    return ProductFactory(sku="LAMP-1", name="Desk Lamp", on_hand=0)


# --- the API -------------------------------------------------------------------------------


def test_a_storefront_puts_a_shopper_on_the_waitlist_and_a_repeat_is_a_200(api, channel, lamp):
    body = {"email": "Ann@Example.com", "product_url": "https://corner.example/lamp"}
    first = api.post("/api/v1/products/lamp-1/waitlist/", body)
    again = api.post("/api/v1/products/LAMP-1/waitlist/", body)

    assert first.status_code == 201
    assert first.json() == {
        "sku": "LAMP-1",
        "email": "ann@example.com",
        "joined_at": "2026-11-02T10:00:00-05:00",  # in the store's time zone
        "invited_at": None,
    }
    assert (again.status_code, again.json()) == (200, first.json())
    entry = WaitlistEntry.objects.get()
    assert (entry.channel, entry.product_url) == (channel, "https://corner.example/lamp")


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/products/LAMP-1/waitlist/", {"email": "nope"}, 400, "email"),
        ("/api/v1/products/LAMP-1/waitlist/", {}, 400, "email"),
        (
            "/api/v1/products/LAMP-1/waitlist/",
            {"email": "a@example.com", "product_url": "javascript:alert(1)"},
            400,
            "product_url",
        ),
        ("/api/v1/products/NOPE/waitlist/", {"email": "a@example.com"}, 404, None),
    ],
)
def test_wrong_joins_are_problems(api, lamp, path, body, status, field):
    response = api.post(path, body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    if field:
        assert field in response.json()["errors"]
    assert WaitlistEntry.objects.count() == 0


def test_the_api_needs_a_key(lamp):
    response = ApiClient(None).post("/api/v1/products/LAMP-1/waitlist/", {"email": "a@b.example"})
    assert response.status_code == 401


# --- the embeddable form -------------------------------------------------------------------


def form_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_form_page_can_be_framed_by_a_shop_and_is_never_cached(lamp):
    response = Client().get("/waitlist/lamp-1/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Tell me when it's back" in page
    assert "Desk Lamp" in page
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]
    assert "csrftoken" not in response.cookies


def test_joining_by_the_form_shows_the_thank_you_and_a_second_submit_changes_nothing(lamp):
    client = Client()
    token = form_token(client.get("/waitlist/LAMP-1/").content.decode())
    posted = {"email": "ann@example.com", "token": token}

    first = client.post("/waitlist/LAMP-1/", posted, headers={"Origin": "http://testserver"})
    second = client.post("/waitlist/LAMP-1/", posted, headers={"Origin": "http://testserver"})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == "/waitlist/LAMP-1/?joined=1"
    thanks = client.get(first["Location"]).content.decode()
    assert "You're on the list" in thanks
    entry = WaitlistEntry.objects.get()
    assert (entry.email, entry.channel, entry.joined_at) == ("ann@example.com", None, MONDAY)


@pytest.mark.parametrize(
    ("headers", "sent"),
    [
        ({"Origin": "https://evil.example"}, "good"),
        ({"Origin": "null"}, "good"),
        ({"Referer": "https://evil.example/page"}, "good"),
        ({}, "forged"),
        ({}, ""),
    ],
)
def test_a_post_from_another_site_or_without_our_token_is_refused(lamp, headers, sent):
    client = Client()
    good = form_token(client.get("/waitlist/LAMP-1/").content.decode())
    response = client.post(
        "/waitlist/LAMP-1/",
        {"email": "ann@example.com", "token": good if sent == "good" else sent},
        headers=headers,
    )
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert WaitlistEntry.objects.count() == 0


def test_a_form_token_expires_and_belongs_to_its_product(lamp, clock):
    other = ProductFactory(sku="FAN-1", on_hand=0)
    client = Client()
    token = form_token(client.get("/waitlist/FAN-1/").content.decode())
    assert (
        client.post("/waitlist/LAMP-1/", {"email": "a@b.example", "token": token}).status_code
        == 403
    )
    clock.shift(dt.timedelta(hours=13))
    assert (
        client.post("/waitlist/FAN-1/", {"email": "a@b.example", "token": token}).status_code == 403
    )
    assert not WaitlistEntry.objects.filter(product=other).exists()


def test_a_wrong_address_is_shown_again_with_the_error(lamp):
    client = Client()
    token = form_token(client.get("/waitlist/LAMP-1/").content.decode())
    response = client.post("/waitlist/LAMP-1/", {"email": "ann at example", "token": token})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert 'value="ann at example"' in page
    assert 'aria-invalid="true"' in page


def test_the_form_is_rate_limited_per_address(lamp, settings):
    from django.core.cache import cache

    cache.clear()
    settings.WAITLIST_FORM_RATE = "2/h"
    client = Client()
    statuses = []
    for n in range(3):
        token = form_token(client.get("/waitlist/LAMP-1/").content.decode())
        statuses.append(
            client.post(
                "/waitlist/LAMP-1/", {"email": f"s{n}@example.com", "token": token}
            ).status_code
        )
    assert statuses == [302, 302, 429]
    assert WaitlistEntry.objects.count() == 2


def test_an_unknown_or_discontinued_product_has_no_form():
    ProductFactory(sku="GONE-1", is_discontinued=True)
    assert Client().get("/waitlist/GONE-1/").status_code == 404
    assert Client().get("/waitlist/NOPE/").status_code == 404


# --- leaving ---------------------------------------------------------------------------------


def test_the_leave_link_asks_first_and_a_post_takes_the_shopper_off(lamp):
    entry = waitlist_join(product=lamp, email="ann@example.com").entry
    client = Client(enforce_csrf_checks=True)
    url = f"/waitlist/leave/{leave_token(entry=entry)}/"

    page = client.get(url)
    assert page.status_code == 200
    assert "Leave the waitlist" in page.content.decode()
    entry.refresh_from_db()
    assert entry.left_at is None  # opening the link changes nothing

    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf
    done = client.post(url, {"csrfmiddlewaretoken": csrf.group(1)})
    assert done.status_code == 200
    assert "You have left the waitlist." in done.content.decode()
    entry.refresh_from_db()
    assert entry.left_at == MONDAY


def test_a_tampered_leave_link_is_404(lamp):
    entry = waitlist_join(product=lamp, email="ann@example.com").entry
    token = leave_token(entry=entry)
    assert Client().get(f"/waitlist/leave/{token}x/").status_code == 404


# --- the admin -------------------------------------------------------------------------------


def test_admins_see_the_waitlist_read_only_and_can_take_a_shopper_off(client, admin_user, lamp):
    entry = waitlist_join(product=lamp, email="ann@example.com").entry
    client.force_login(admin_user)

    listing = client.get("/admin/storefront/waitlistentry/?q=ann")
    assert listing.status_code == 200
    assert "ann@example.com" in listing.content.decode()
    response = client.post(
        "/admin/storefront/waitlistentry/",
        {"action": "take_off", "_selected_action": [entry.pk]},
        follow=True,
    )

    assert [m.message for m in response.context["messages"]] == ["Taken off the waitlist."]
    entry.refresh_from_db()
    assert entry.left_at == MONDAY
    assert client.get(f"/admin/storefront/waitlistentry/{entry.pk}/delete/").status_code == 403
