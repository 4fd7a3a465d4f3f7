"""Dashboard: its own login and logout pages (login throttling is django-axes, in settings)."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.urls import path


class StaffLoginForm(AdminAuthenticationForm):
    """Username and password of a staff account; anyone else is told so, as in the admin."""


urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/auth/login.html",
            authentication_form=StaffLoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    # Logging out is a POST (Django's LogoutView refuses GET), back to the login page.
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
]
