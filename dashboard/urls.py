"""Each screen's module declares its own routes; they all live in the "dashboard" namespace."""

from .views import (
    auth,
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
    *auth.urlpatterns,
    *overview.urlpatterns,
    *queue.urlpatterns,
    *products.urlpatterns,
    *receiving.urlpatterns,
    *shipping.urlpatterns,
    *orders.urlpatterns,
    *purchasing.urlpatterns,
    *compliance.urlpatterns,
    *reports.urlpatterns,
]
