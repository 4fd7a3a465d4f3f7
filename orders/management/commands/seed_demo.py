from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.demo import demo_data_present, demo_shop_seed


class Command(BaseCommand):
    help = (
        "Load a demo shop (products, customers and 60 days of orders, receipts, shipments and "
        "cancellations) through the services. Does nothing if the demo data is already there."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_data_present():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        with transaction.atomic():
            summary = demo_shop_seed()
        statuses = ", ".join(
            f"{count} {status.replace('_', ' ')}"
            for status, count in sorted(summary.statuses.items())
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo shop loaded: {summary.products} products, {summary.customers} customers, "
                f"{summary.orders} orders ({statuses})."
            )
        )
        self.stdout.write(
            f"{summary.receipts} purchase-order receipts, {summary.shipments} shipments, "
            f"{summary.adjustments} stock adjustments, {summary.cancellations} cancellations.\n"
            f"{summary.lines_backordered} lines ({summary.units_backordered} units) on backorder; "
            f"{summary.refunds} refunds, {summary.refunds_open} still to issue."
        )
