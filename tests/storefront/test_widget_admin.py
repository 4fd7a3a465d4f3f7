"""Staff manage the availability widget: publishable keys, allowed origins, the preview page,
and the demo's web shop."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from storefront.demo import DEMO_CHANNEL, DEMO_ORIGIN, demo_widget_channel_seed
from storefront.models import ApiKey, SalesChannel
from storefront.services import api_key_create, api_key_revoke, channel_create
from tests.factories import ProductFactory, place_order

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_channel_action_makes_a_publishable_key_staff_can_copy_again(admin_client):
    channel = channel_create(name="Corner Shop")

    response = admin_client.post(
        "/admin/storefront/saleschannel/",
        {"action": "create_publishable_key", "_selected_action": [channel.pk]},
        follow=True,
    )

    [message] = [m.message for m in response.context["messages"]]
    api_key = ApiKey.objects.get(channel=channel)
    assert api_key.kind == "publishable"
    assert api_key.publishable_key.startswith("pk_live_")
    assert api_key.publishable_key in message
    page = admin_client.get(f"/admin/storefront/saleschannel/{channel.pk}/change/")
    assert api_key.publishable_key in page.content.decode()
    assert ApiClient(api_key.publishable_key).get("/api/v1/orders/").status_code == 403


def test_staff_set_the_allowed_origins_one_per_line(admin_client):
    channel = channel_create(name="Corner Shop")
    form = {"name": "Corner Shop", "kind": "custom", "webhook_secret": "", "is_active": "on"}
    form |= {"api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0"}
    url = f"/admin/storefront/saleschannel/{channel.pk}/change/"

    refused = admin_client.post(url, {**form, "allowed_origins": "http://shop.example"})
    saved = admin_client.post(
        url, {**form, "allowed_origins": "https://Shop.Example/\r\nhttps://www.shop.example\r\n"}
    )

    assert "is not an origin" in refused.content.decode()
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert channel.allowed_origins == ["https://shop.example", "https://www.shop.example"]


def test_the_command_makes_a_publishable_key():
    out = io.StringIO()

    call_command("storefront_key_create", channel="Corner Shop", publishable=True, stdout=out)

    api_key = ApiKey.objects.get(channel__name="Corner Shop")
    assert out.getvalue().strip() == api_key.publishable_key


def test_the_preview_page_shows_the_widget_for_a_product_customers_wait_for(admin_client):
    channel = channel_create(name="Corner Shop")
    api_key, pk = api_key_create(channel=channel, kind=ApiKey.Kind.PUBLISHABLE)
    ProductFactory(sku="A-1", on_hand=5)
    lamp = ProductFactory(sku="LAMP-4", name="Brass lamp", on_hand=0)
    place_order((lamp, 1))

    page = admin_client.get("/storefront/widget-demo/").content.decode()

    assert 'data-backorder-desk-sku="LAMP-4"' in page
    assert f'data-key="{pk}"' in page
    assert "/static/storefront/availability.js" in page
    api_key_revoke(api_key=api_key)
    assert (
        "No channel has a publishable key yet"
        in admin_client.get("/storefront/widget-demo/").content.decode()
    )


def test_the_preview_page_is_for_staff_only(client):
    response = client.get("/storefront/widget-demo/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_demo_web_shop_gets_one_publishable_key_and_its_origin():
    first = demo_widget_channel_seed()
    again = demo_widget_channel_seed()

    assert first == again
    channel = SalesChannel.objects.get(name=DEMO_CHANNEL)
    assert channel.allowed_origins == [DEMO_ORIGIN]
    assert first.is_publishable
