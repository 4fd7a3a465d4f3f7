from django.urls import path

from . import views

app_name = "waitlist"

urlpatterns = [
    path("leave/<str:token>/", views.waitlist_leave_page, name="leave"),
    path("<str:sku>/", views.waitlist_form, name="join"),
]
