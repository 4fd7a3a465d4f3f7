from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("orders/", include("compliance.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("anymail/", include("anymail.urls")),
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
]
