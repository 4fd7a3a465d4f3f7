"""Error pages a person can act on: inside the site's layout, saying what happened, with a way
back. Run with DEBUG off, as in production (the test settings)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse

from config.errors import server_error
from dashboard.submissions import FIELD
from inventory.models import Stock
from tests.factories import ProductFactory, staff_in

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_debug_is_off_for_these_tests():
    assert settings.DEBUG is False


def test_a_missing_page_for_staff_is_inside_the_dashboard_with_a_way_back(client):
    client.force_login(staff_in("Operations"))
    response = client.get("/dashboard/no-such-screen/", HTTP_REFERER="/dashboard/queue/")
    assert response.status_code == 404
    html = text(response)
    assert '<h1 id="error-title">Page not found</h1>' in html
    assert 'class="dash-nav"' in html  # the dashboard's own navigation
    assert f'href="{reverse("dashboard:overview")}">Back to the overview</a>' in html
    assert 'href="/dashboard/queue/">Back to the previous page</a>' in html
    assert "Times in America/New_York" in html


def test_a_missing_page_for_a_customer_offers_help_not_the_dashboard(client):
    response = client.get("/orders/not-a-real-link/")
    assert response.status_code == 404
    html = text(response)
    assert "Page not found" in html
    assert 'class="dash-nav"' not in html
    assert f"mailto:{settings.STORE_SUPPORT_EMAIL}" in html
    assert 'rel="icon" href="/static/favicon.svg"' in html


def test_a_screen_beyond_ones_permissions_says_why(client):
    client.force_login(staff_in("Operations"))
    response = client.get(reverse("dashboard:compliance"))
    assert response.status_code == 403
    html = text(response)
    assert "You may not open this page" in html
    assert "You do not have access to this screen." in html
    assert "Back to the overview" in html


def test_a_server_error_shows_the_plain_layout_without_touching_the_database():
    request = RequestFactory().get("/dashboard/")
    with pytest.raises(AttributeError):
        request.user  # noqa: B018 - no user: the page must not need one
    response = server_error(request)
    assert response.status_code == 500
    html = text(response)
    assert "Something went wrong on our side" in html
    assert "Back to the start" in html


def test_an_expired_form_is_the_styled_403_and_nothing_is_written():
    phone = ProductFactory(sku="PHONE-1")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_in("Operations"))
    response = client.post(reverse("dashboard:receive"), {"sku": "PHONE-1", "quantity": "5"})
    assert response.status_code == 403
    html = text(response)
    assert "This form has expired" in html
    assert "Reload the page and submit it again." in html
    assert Stock.objects.get(pk=phone.pk).on_hand == 0


def test_a_dashboard_form_without_its_token_is_refused_and_writes_nothing():
    phone = ProductFactory(sku="PHONE-1")
    client = Client()  # a plain client: no one-time token
    client.force_login(staff_in("Operations"))
    data = {"sku": "PHONE-1", "quantity": "5"}
    first = client.post(reverse("dashboard:receive"), data)
    second = client.post(reverse("dashboard:receive"), data)
    assert first.status_code == second.status_code == 400
    html = text(first)
    assert "This form was not sent as expected" in html
    assert "arrived without its one-time token, so nothing was saved" in html
    assert Stock.objects.get(pk=phone.pk).on_hand == 0
    assert FIELD not in data


def test_the_favicon_is_served(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)
