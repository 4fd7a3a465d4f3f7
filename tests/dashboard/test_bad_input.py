"""Every dashboard screen answers bad query-string input without a server error."""

import pytest
from django.urls import reverse

from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

BAD = ["abc", "-1", "0", "99999999999999999999", "", "1.5", "%00"]
PAGES = [
    "overview",
    "queue",
    "products",
    "orders",
    "ship",
    "purchase_orders",
    "compliance",
    "reports",
    "receive",
    "order_new",
]
KEYS = [
    "page",
    "product",
    "days",
    "status",
    "supplier",
    "policy",
    "q",
    "report",
    "at_risk",
    "unreachable",
    "backordered",
    "low",
    "start",
    "end",
]


def test_hostile_query_strings_never_give_a_server_error(client):
    """Ids that are text, negative, huge or empty fall back or 404; they never raise."""
    p = ProductFactory(on_hand=1)
    place_order((p, 3))
    client.force_login(staff_in("Managers"))
    bad = []
    for page in PAGES:
        for key in KEYS:
            for value in BAD:
                r = client.get(reverse(f"dashboard:{page}"), {key: value})
                if r.status_code >= 500:
                    bad.append((page, key, value, r.status_code))
    for path in [
        "/dashboard/quote/?sku=&quantity=abc",
        "/dashboard/quote/?sku=X&quantity=-5",
        "/dashboard/compliance/export.csv?start=x",
        "/dashboard/reports/nope.csv",
        "/dashboard/products/999999/",
        "/dashboard/orders/999999/",
        "/dashboard/ship/999999/",
        "/dashboard/purchase-orders/999999/",
    ]:
        r = client.get(path)
        if r.status_code >= 500:
            bad.append((path, r.status_code))
    assert bad == []
