from django.urls import path

from .views import (
    compliance,
    orders,
    overview,
    products,
    purchasing,
    queue,
    receiving,
    reports,
    shipping,
)

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    # Operations
    path("queue/", queue.queue, name="queue"),
    path("queue/<int:line_id>/prioritise/", queue.queue_prioritise, name="queue_prioritise"),
    path("queue/<int:line_id>/cancel/", queue.queue_cancel, name="queue_cancel"),
    path("products/", products.products, name="products"),
    path("products/<int:pk>/", products.product, name="product"),
    path("receive/", receiving.receive, name="receive"),
    path("ship/", shipping.ship, name="ship"),
    path("ship/<int:order_id>/", shipping.ship_order, name="ship_order"),
    path("ship/<int:order_id>/packing-slip/", shipping.packing_slip, name="packing_slip"),
    path("orders/", orders.orders, name="orders"),
    path("orders/new/", orders.order_new, name="order_new"),
    path("orders/<int:pk>/", orders.order, name="order"),
    path("quote/", orders.quote, name="quote"),
    # Managers
    path("purchase-orders/", purchasing.purchase_orders, name="purchase_orders"),
    path("purchase-orders/new/", purchasing.purchase_order_new, name="purchase_order_new"),
    path("purchase-orders/<int:pk>/", purchasing.purchase_order, name="purchase_order"),
    path(
        "purchase-orders/lines/<int:pk>/reschedule/",
        purchasing.po_line_reschedule,
        name="po_line_reschedule",
    ),
    path("compliance/", compliance.compliance, name="compliance"),
    path("compliance/export.csv", compliance.compliance_export, name="compliance_export"),
    path("refunds/<int:pk>/issue/", compliance.refund_issue, name="refund_issue"),
    path("reports/", reports.reports, name="reports"),
    path("reports/<slug:report>.csv", reports.report_export, name="report_export"),
]
