from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("shopify/<str:channel>/", views.shopify_webhook, name="shopify"),
    path("woocommerce/<str:channel>/", views.woocommerce_webhook, name="woocommerce"),
]
