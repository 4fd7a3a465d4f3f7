import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from inventory.models import PurchaseOrder
from orders.demo import demo_data_present, demo_shop_seed
from orders.models import EtaSource

ETA_WORDS = {
    EtaSource.PURCHASE_ORDER: "from purchase orders",
    EtaSource.LEAD_TIME: "from lead times",
    EtaSource.RELEASE: "at the release date",
    EtaSource.UNKNOWN: "unknown",
}
# With no broker the receiving task runs in-process once the seed commits, once per delivery;
# it finds nothing left to do, and its log lines would bury the summary.
QUIET_LOGGERS = {"celery.app.trace": logging.WARNING, "kombu.connection": logging.ERROR}


@contextmanager
def quiet_loggers() -> Iterator[None]:
    loggers = {logging.getLogger(name): level for name, level in QUIET_LOGGERS.items()}
    before = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level in before.items():
            logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Load a demo shop (suppliers, products, customers and 60 days of orders, purchase "
        "orders, deliveries, shipments and cancellations) through the services. Does nothing "
        "if the demo data is already there."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_data_present():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        with quiet_loggers(), transaction.atomic():
            summary = demo_shop_seed()
        statuses = ", ".join(
            f"{count} {status.replace('_', ' ')}"
            for status, count in sorted(summary.statuses.items())
        )
        po_statuses = ", ".join(
            f"{summary.purchase_order_statuses[status]} {label.lower()}"
            for status, label in PurchaseOrder.Status.choices
            if summary.purchase_order_statuses[status]
        )
        etas = ", ".join(
            f"{summary.eta_sources[source]} {words}"
            for source, words in ETA_WORDS.items()
            if summary.eta_sources[source]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo shop loaded: {summary.products} products, {summary.suppliers} suppliers, "
                f"{summary.customers} customers, {summary.orders} orders ({statuses})."
            )
        )
        self.stdout.write(
            f"{summary.purchase_orders} purchase orders ({po_statuses}; "
            f"{summary.multi_line_purchase_orders} with several lines): "
            f"{summary.receipts} deliveries received ({summary.short_receipts} short), "
            f"{summary.reschedules} lines rescheduled ({summary.delays} supplier delays).\n"
            f"{summary.shipments} shipments, {summary.adjustments} stock adjustments, "
            f"{summary.cancellations} cancellations.\n"
            f"{summary.lines_backordered} lines ({summary.units_backordered} units) on "
            f"backorder; ETAs: {etas}.\n"
            f"{summary.refunds} refunds, {summary.refunds_open} still to issue.\n"
            f"{summary.waitlist_invitations} waitlist invitations sent."
        )
