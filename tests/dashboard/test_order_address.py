"""A phone order's shipping address and phone: taken by the form, kept, and shown to staff."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from orders.models import Order
from orders.services import ShippingAddress, order_place
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.dashboard.test_order_new import form_data
from tests.factories import ProductFactory, staff_in

pytestmark = pytest.mark.django_db
NEW_URL = reverse("dashboard:order_new")


@pytest.fixture
def operations(client: Client) -> Client:
    ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10)
    client.force_login(staff_in("Operations"))
    return client


def test_the_address_and_phone_are_kept_and_shown_on_the_order_and_the_slip(operations):
    response = operations.post(
        NEW_URL, form_data(("CAB-1", "2"), ship_to_line2="Flat 3", ship_to_country="US")
    )

    assert response.status_code == 302
    order = Order.objects.get()
    assert (
        order.ship_to_name,
        order.ship_to_line1,
        order.ship_to_line2,
        order.ship_to_city,
        order.ship_to_region,
        order.ship_to_postal_code,
        order.ship_to_country,
        order.ship_to_phone,
    ) == (
        "Pat Phone",
        "12 Harbour Road",
        "Flat 3",
        "Portland",
        "OR",
        "97201",
        "US",
        "+1 503 555 0100",
    )
    order_page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    slip = operations.get(reverse("dashboard:packing_slip", args=[order.pk])).content.decode()
    for page in (order_page, slip):
        assert (
            "12 Harbour Road<br>Flat 3<br>Portland, OR 97201<br>US<br>Phone +1 503 555 0100" in page
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ship_to_name", "", "Enter the name the parcel is addressed to."),
        ("ship_to_line1", "  ", "Enter the street address."),
        ("ship_to_city", "", "Enter the city."),
        ("ship_to_postal_code", "", "Enter the postal code."),
        ("ship_to_country", "", "Choose the country."),
        ("ship_to_country", "XX", "Choose a country from the list (a two-letter code such as US)."),
        (
            "ship_to_country",
            "usa",
            "Choose a country from the list (a two-letter code such as US).",
        ),
        ("ship_to_phone", "call me maybe", "A phone number has digits, spaces, + ( ) . / -."),
        ("ship_to_phone", "1" * 31, "Ensure this value has at most 30 characters (it has 31)."),
        (
            "ship_to_postal_code",
            "9" * 21,
            "Ensure this value has at most 20 characters (it has 21).",
        ),
    ],
)
def test_a_missing_or_bad_address_field_is_a_form_error_and_no_order(
    operations, field, value, message
):
    response = operations.post(NEW_URL, form_data(("CAB-1", "1"), **{field: value}))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_a_phone_order_without_a_phone_number_is_fine(operations):
    response = operations.post(NEW_URL, form_data(("CAB-1", "1"), ship_to_phone=""))

    assert response.status_code == 302
    assert Order.objects.get().ship_to_phone == ""


def test_the_order_page_says_when_an_order_has_no_address(operations):
    order = order_place(customer_email="ada@example.com", lines=[{"sku": "CAB-1", "quantity": 1}])

    page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert "No shipping address on file." in page


def test_order_place_refuses_a_bad_country_code_or_an_overlong_field_and_writes_nothing():
    ProductFactory(sku="CAB-1", on_hand=10)
    address = ShippingAddress(
        **{k.removeprefix("ship_to_"): v for k, v in PHONE_ORDER_ADDRESS.items()}
    )

    with pytest.raises(ValidationError) as caught:
        order_place(
            customer_email="ada@example.com",
            lines=[{"sku": "CAB-1", "quantity": 1}],
            address=ShippingAddress(**{**vars(address), "country": "U1", "city": "x" * 101}),
        )

    assert caught.value.messages == [
        "Shipping address: the city is at most 100 characters.",
        "Shipping address: 'U1' is not a two-letter country code (e.g. US, GB).",
    ]
    assert not Order.objects.exists()


def test_order_place_stores_the_address_tidied():
    ProductFactory(sku="CAB-1", on_hand=10)

    order = order_place(
        customer_email="ada@example.com",
        lines=[{"sku": "CAB-1", "quantity": 1}],
        address=ShippingAddress(
            name=" Ada  Lovelace ",
            line1="1 Main St",
            city="Leeds",
            postal_code="LS1 1AA",
            country="gb",
        ),
    )

    order.refresh_from_db()
    assert (order.ship_to_name, order.ship_to_country, order.ship_to_postal_code) == (
        "Ada Lovelace",
        "GB",
        "LS1 1AA",
    )


@pytest.mark.parametrize("search", ["97201", "555 0100"])
def test_the_order_list_finds_an_order_by_its_postal_code_or_phone(operations, search):
    operations.post(NEW_URL, form_data(("CAB-1", "1")))
    order_place(customer_email="ada@example.com", lines=[{"sku": "CAB-1", "quantity": 1}])
    wanted = Order.objects.get(customer__email="pat@example.com")

    page = operations.get(reverse("dashboard:orders"), {"q": search}).content.decode()

    assert wanted.number in page
    assert "ada@example.com" not in page
