from django.urls import path

from . import views

app_name = "storefront"

urlpatterns = [
    path("widget-demo/", views.widget_demo, name="widget-demo"),
]
