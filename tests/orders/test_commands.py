import pytest
from django.core.management import CommandError, call_command

from inventory.models import Stock
from orders.models import Order, OrderEvent, OrderLine
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db


def test_check_invariants_passes_on_a_consistent_database(capsys):
    product = ProductFactory(on_hand=1)
    place_order((product, 2))
    call_command("check_invariants")
    assert "All invariants hold." in capsys.readouterr().out


def test_check_invariants_names_each_violation_and_fails(capsys):
    product = ProductFactory(sku="LAMP", on_hand=3)
    order = place_order((product, 2))
    # Corrupt the books behind the services' back.
    Stock.objects.filter(pk=product.pk).update(on_hand=5)
    OrderLine.objects.filter(order=order).update(quantity_allocated=1)

    with pytest.raises(CommandError, match="3 invariant violation"):
        call_command("check_invariants")

    err = capsys.readouterr().err
    assert "LAMP: on hand 5 but its movements add up to 3." in err
    assert "LAMP: stock says 2 allocated, its lines say 1." in err
    assert "LAMP: 3 available while lines still wait for it." in err


def test_check_invariants_names_an_event_whose_order_is_gone(capsys):
    # The events' order column has no database constraint: the check stands in for it.
    order = place_order((ProductFactory(on_hand=1), 1))
    missing = Order.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    stray = OrderEvent.objects.create(order_id=missing, kind=OrderEvent.Kind.NOTE, message="x")

    with pytest.raises(CommandError, match="1 invariant violation"):
        call_command("check_invariants")

    assert f"Event {stray.pk}: its order {missing} does not exist." in capsys.readouterr().err
    assert OrderEvent.objects.filter(order=order).exists()
