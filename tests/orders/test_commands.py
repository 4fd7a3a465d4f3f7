import pytest
from django.core.management import CommandError, call_command

from inventory.models import Stock
from orders.models import OrderLine
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
