from django.urls import path, re_path

from . import public, views, waitlist
from .problems import not_found

app_name = "api"

urlpatterns = [
    path("quotes/", views.QuoteView.as_view(), name="quotes"),
    path("orders/", views.OrderListCreateView.as_view(), name="orders"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="order"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("products/", views.ProductsUpsertView.as_view(), name="products"),
    path("products/<str:sku>/waitlist/", waitlist.WaitlistJoinView.as_view(), name="waitlist"),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path(
        "public/availability/", public.PublicAvailabilityView.as_view(), name="public-availability"
    ),
    re_path(r"^.*$", not_found, name="not-found"),
]
