from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inventory.models import Product, Stock, StockMovement
from inventory.services import product_create
from orders.services import product_discontinue
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_product_create_records_opening_stock_as_a_receipt():
    product = product_create(
        sku="CHAIR-1", name="Oak chair", unit_price=Decimal("89.00"), on_hand=4
    )
    assert (product.stock.on_hand, product.stock.allocated, product.stock.available) == (4, 0, 4)
    movement = StockMovement.objects.get(product=product)
    assert (movement.kind, movement.quantity, movement.reason) == ("receipt", 4, "Opening stock")


def test_sku_is_unique_whatever_the_case():
    ProductFactory(sku="Desk-1")
    with pytest.raises(ValidationError, match="SKU"):
        product_create(sku="DESK-1", name="Another desk", unit_price=Decimal("1.00"))


def test_preorder_needs_a_release_date():
    with pytest.raises(ValidationError, match="release"):
        product_create(
            sku="PRE", name="Next year's model", unit_price=Decimal("1"), is_preorder=True
        )
    assert not Product.objects.filter(sku="PRE").exists()


def test_database_refuses_allocating_more_than_on_hand():
    product = ProductFactory(on_hand=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=product.pk).update(allocated=3)


def test_database_refuses_negative_stock():
    product = ProductFactory(on_hand=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=product.pk).update(on_hand=-1)


def test_discontinue_stops_backorders():
    product = ProductFactory(on_hand=0)
    assert product.accepts_backorders is True
    product_discontinue(product=product)
    product.refresh_from_db()
    assert product.is_discontinued is True
    assert product.discontinued_at is not None
    assert product.accepts_backorders is False
