from io import StringIO

import pytest
from django.core.management import call_command

from inventory.models import Product, StockMovement
from orders.models import Customer, Order, OrderEvent, OrderLine, Refund, Shipment
from orders.selectors import invariant_violations

COUNTED = (Product, Customer, Order, OrderLine, OrderEvent, Shipment, Refund, StockMovement)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


# One test, so the 60 days are simulated once: the seed is the slow part.
@pytest.mark.django_db
def test_seed_demo_loads_a_believable_shop_once_and_keeps_every_invariant() -> None:
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert "Demo shop loaded: 46 products, " in out.getvalue()
    assert Product.objects.count() >= 40
    assert Customer.objects.count() >= 55
    assert Order.objects.count() >= 300
    assert Product.objects.filter(is_preorder=True, release_date__isnull=False).count() == 1
    assert Product.objects.filter(is_discontinued=True).count() == 1
    assert Product.objects.filter(exempt_from_mail_order_rule=True).count() >= 2
    assert Product.objects.filter(backorder_policy=Product.BackorderPolicy.DENY).exists()
    assert Product.objects.filter(backorder_cap__isnull=False).exists()
    assert Product.objects.filter(substitutes__isnull=False).exists()
    assert OrderLine.objects.filter(quantity_backordered__gt=0).count() > 0
    assert Shipment.objects.count() > 0
    assert Refund.objects.count() > 0
    assert Refund.objects.filter(issued_at__isnull=False).exists()
    assert Refund.objects.filter(issued_at=None).exists()
    assert StockMovement.objects.filter(
        kind=StockMovement.Kind.RECEIPT, reference__startswith="PO-2026-"
    ).exists()
    assert StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).count() >= 2
    statuses = set(
        Order.objects.with_status().values_list("status", flat=True)  # type: ignore[misc]
    )
    assert statuses == set(Order.Status.values)
    assert Order.objects.filter(paid_at=None).exists()
    assert Order.objects.filter(is_priority=True).exists()
    assert invariant_violations() == []

    # When it runs again, then it changes nothing.
    before = _counts()
    again = StringIO()

    call_command("seed_demo", stdout=again)

    assert again.getvalue().strip() == "Demo data already loaded; nothing to do."
    assert _counts() == before
