"""Admins manage sales channels and their keys: a new key is shown once, revoking ends it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.models import ApiKey, IntakeRecord, SalesChannel
from storefront.services import api_key_create, channel_create
from tests.factories import ProductFactory, place_order

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_channel_action_shows_a_new_key_once_and_stores_only_its_hash(admin_client):
    channel = channel_create(name="Corner Shop")

    response = admin_client.post(
        "/admin/storefront/saleschannel/",
        {"action": "create_api_key", "_selected_action": [channel.pk]},
        follow=True,
    )

    [message] = [m.message for m in response.context["messages"]]
    raw_key = message.split(": ", 1)[1].split(" ", 1)[0]
    assert raw_key.startswith("bd_")
    api_key = ApiKey.objects.get(channel=channel)
    assert raw_key not in api_key.key_hash
    assert ApiClient(raw_key).get("/api/v1/orders/").status_code == 200
    page = admin_client.get(f"/admin/storefront/saleschannel/{channel.pk}/change/")
    assert raw_key not in page.content.decode()
    assert api_key.prefix in page.content.decode()


def test_the_revoke_action_ends_a_key(admin_client):
    api_key, raw_key = api_key_create(channel=channel_create(name="Corner Shop"))

    admin_client.post(
        "/admin/storefront/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert ApiClient(raw_key).get("/api/v1/orders/").status_code == 401


def test_keys_are_not_typed_in_by_hand(admin_client):
    assert admin_client.get("/admin/storefront/apikey/add/").status_code == 403


def test_the_command_creates_the_channel_once_and_prints_a_working_key():
    out = io.StringIO()
    call_command(
        "storefront_key_create", "--channel", "Corner Shop", stdout=out, stderr=io.StringIO()
    )
    call_command(
        "storefront_key_create",
        "--channel",
        "Corner Shop",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    raw_key = out.getvalue().strip()
    assert SalesChannel.objects.get().name == "Corner Shop"
    assert ApiKey.objects.count() == 2
    assert ApiClient(raw_key).get("/api/v1/orders/").status_code == 200


def test_the_intake_log_lists_each_delivery_read_only(admin_client):
    channel = channel_create(name="Jsmith Shopify", kind=SalesChannel.Kind.SHOPIFY)
    IntakeRecord.objects.create(
        channel=channel,
        topic="orders/create",
        delivery_id="b54557e4",
        external_id="820982911946154508",
        outcome=IntakeRecord.Outcome.REFUSED,
        detail="Line 1: unknown SKU 'NOT-HERE'.",
    )

    page = admin_client.get("/admin/storefront/intakerecord/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "820982911946154508" in text
    assert "unknown SKU" in text
    assert "/admin/storefront/intakerecord/add/" not in text
    assert admin_client.get("/admin/storefront/intakerecord/add/").status_code == 403
    record = IntakeRecord.objects.get()
    change = admin_client.post(
        f"/admin/storefront/intakerecord/{record.pk}/change/", {"outcome": "created"}
    )
    assert change.status_code == 403
    record.refresh_from_db()
    assert record.outcome == "refused"


def test_the_intake_log_costs_the_same_queries_for_one_delivery_or_thirty(
    admin_client, django_assert_max_num_queries
):
    channel = channel_create(name="Jsmith Shopify", kind=SalesChannel.Kind.SHOPIFY)
    product = ProductFactory(on_hand=100)
    orders = [place_order((product, 1)) for _ in range(3)]

    def record(index: int) -> None:
        IntakeRecord.objects.create(
            channel=channel,
            topic="orders/create",
            delivery_id=f"delivery-{index}",
            external_id=f"SHOP-{index}",
            outcome=IntakeRecord.Outcome.CREATED,
            order=orders[index % 3],
        )

    record(0)
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/admin/storefront/intakerecord/")
    for index in range(1, 30):
        record(index)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = admin_client.get("/admin/storefront/intakerecord/")
    assert page.content.decode().count("SHOP-") >= 30
    assert "30 intake records" in page.content.decode()
