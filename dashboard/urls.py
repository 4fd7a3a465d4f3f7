"""Each screen's module declares its own routes; they all live in the "dashboard" namespace."""

from .auth import views as auth
from .cancellation_risk import views as cancellation_risk
from .compliance import views as compliance
from .goodwill import views as goodwill
from .lists import views as lists
from .orders import actions as order_actions
from .orders import views as orders
from .overview import views as overview
from .products import views as products
from .purchasing import views as purchasing
from .queue import views as queue
from .receiving import views as receiving
from .reports import cash_flow_views as cash_flow
from .reports import views as reports
from .shipping import views as shipping
from .webhooks import views as webhooks

app_name = "dashboard"

urlpatterns = [
    *auth.urlpatterns,
    *overview.urlpatterns,
    *queue.urlpatterns,
    *cancellation_risk.urlpatterns,
    *products.urlpatterns,
    *receiving.urlpatterns,
    *shipping.urlpatterns,
    *orders.urlpatterns,
    *order_actions.urlpatterns,
    *purchasing.urlpatterns,
    *compliance.urlpatterns,
    *reports.urlpatterns,
    *cash_flow.urlpatterns,
    *goodwill.urlpatterns,
    *webhooks.urlpatterns,
    *lists.urlpatterns,
]
