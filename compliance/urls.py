from django.urls import path

from . import views

app_name = "customer"

urlpatterns = [
    path("<str:token>/", views.order_status, name="status"),
    path("<str:token>/answer/", views.consent_submit, name="consent"),
    path("<str:token>/cancel/", views.cancel_submit, name="cancel"),
]
