from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from dashboard.cancellation_risk.selectors import cancellation_risk_lines, high_risk_count
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockMovement,
    Supplier,
)
from inventory.selectors import RANGE_MIN_RECEIPTS, supplier_scorecards
from orders.models import (
    Customer,
    EtaSource,
    GoodwillGrant,
    Order,
    OrderEvent,
    OrderLine,
    Refund,
    Shipment,
)
from orders.selectors import invariant_violations, store_today
from orders.services import product_eta_refresh

COUNTED = (
    Supplier,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderEvent,
    Customer,
    Order,
    OrderLine,
    OrderEvent,
    Shipment,
    Refund,
    StockMovement,
)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


# One test, so the 60 days are simulated once: the seed is the slow part.
@pytest.mark.django_db
def test_seed_demo_loads_a_believable_shop_once_and_keeps_every_invariant() -> None:
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert "Demo shop loaded: 46 products, 6 suppliers, " in out.getvalue()
    assert Product.objects.count() >= 40
    assert Customer.objects.count() >= 55
    assert Order.objects.count() >= 300
    assert Product.objects.filter(is_preorder=True, release_date__isnull=False).count() == 1
    assert Product.objects.filter(is_discontinued=True).count() == 1
    assert Product.objects.filter(exempt_from_mail_order_rule=True).count() >= 2
    assert Product.objects.filter(backorder_policy=Product.BackorderPolicy.DENY).exists()
    assert Product.objects.filter(backorder_cap__isnull=False).exists()
    assert Product.objects.filter(backorder_limit_from_incoming=True).exists()
    assert Product.objects.filter(substitutes__isnull=False).exists()
    assert Shipment.objects.count() > 0
    assert Refund.objects.count() > 0
    assert Refund.objects.filter(issued_at__isnull=False).exists()
    assert Refund.objects.filter(issued_at=None).exists()
    assert StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).count() >= 2
    statuses = set(
        Order.objects.with_status().values_list("status", flat=True)  # type: ignore[misc]
    )
    assert statuses == set(Order.Status.values)
    assert Order.objects.filter(paid_at=None).exists()
    assert Order.objects.filter(is_priority=True).exists()
    # Cancellation risk: customers who keep opening their status page, ETAs that moved twice.
    risky = list(cancellation_risk_lines(today=store_today()))
    assert any(line.status_views >= 2 for line in risky)  # type: ignore[attr-defined]
    assert any(line.eta_moves >= 2 for line in risky)  # type: ignore[attr-defined]
    assert high_risk_count(today=store_today()) > 0

    # Suppliers: believable ones, nearly every product has one, a few set their own lead time.
    suppliers = list(Supplier.objects.all())
    assert len(suppliers) >= 5
    assert all(s.email and 5 <= s.lead_time_days <= 30 for s in suppliers)
    assert Product.objects.filter(preferred_supplier__isnull=True).count() <= 2
    assert Product.objects.filter(
        preferred_supplier__isnull=False, lead_time_days__isnull=False
    ).exists()

    # Purchase orders: received against, some late or short, one cancelled, some still open.
    numbers = set(PurchaseOrder.objects.values_list("number", flat=True))
    receipts = set(
        StockMovement.objects.filter(kind=StockMovement.Kind.RECEIPT)
        .exclude(reason="Opening stock")
        .values_list("reference", flat=True)
    )
    assert len(receipts & numbers) >= 10
    assert PurchaseOrder.objects.filter(status=PurchaseOrder.Status.RECEIVED).exists()
    assert PurchaseOrder.objects.filter(status=PurchaseOrder.Status.CANCELLED).count() == 1
    assert PurchaseOrderEvent.objects.filter(message__startswith="Cancelled: ").exists()
    assert PurchaseOrderEvent.objects.filter(
        message__contains="now expected", message__endswith=": Supplier production delay"
    ).exists()
    assert PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PARTIALLY_RECEIVED).exists()
    # Every supplier has a record to judge it by (months of deliveries before the story):
    # early, on time and late ones, enough for its dates to carry a range.
    cards = supplier_scorecards(today=store_today())
    assert len(cards) == 6
    assert all(card.receipts >= RANGE_MIN_RECEIPTS for card in cards)
    assert len({card.on_time_percent for card in cards}) >= 4
    slips = [slip for card in cards for slip in card.slips]
    assert min(slips) < 0 < max(slips)
    assert PurchaseOrder.objects.filter(status__in=PurchaseOrder.OPEN_STATUSES).exists()
    open_lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=PurchaseOrder.OPEN_STATUSES,
        is_cancelled=False,
    )
    assert open_lines.exists()
    today = store_today()
    assert all(
        line.expected_date > today
        for line in open_lines
        if line.quantity_received < line.quantity_ordered
    )
    assert (
        PurchaseOrder.objects.annotate(lines_count=Count("lines"))
        .filter(lines_count__gt=1)
        .exists()
    )

    # Every waiting line has an ETA basis, and every basis shows up.
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    assert waiting.exists()
    assert not waiting.filter(eta_source="").exists()
    assert set(waiting.values_list("eta_source", flat=True)) >= {
        EtaSource.PURCHASE_ORDER,
        EtaSource.LEAD_TIME,
        EtaSource.RELEASE,
        EtaSource.UNKNOWN,
    }
    assert waiting.filter(
        eta_source=EtaSource.UNKNOWN,
        product__preferred_supplier=None,
        product__lead_time_days=None,
        product__is_discontinued=False,
    ).exists()
    # The ETAs the services kept up to date are the ones a full recomputation gives.
    assert [
        product.sku
        for product in Product.objects.order_by("sku")
        if product_eta_refresh(product_id=product.pk)
    ] == []
    assert invariant_violations() == []
    # Goodwill: the demo rule granted store credit to some of the longest waits.
    assert GoodwillGrant.objects.filter(rule__name="Thanks for waiting").exists()

    # When it runs again, then it changes nothing.
    before = _counts()
    again = StringIO()

    call_command("seed_demo", stdout=again)

    assert again.getvalue().strip() == "Demo data already loaded; nothing to do."
    assert _counts() == before
