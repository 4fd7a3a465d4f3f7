"""The dashboard's own login page, logout, short sessions, and login throttling (django-axes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import staff_in

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password


def test_a_dashboard_page_sends_a_stranger_to_the_dashboard_login_page(client: Client) -> None:
    response = client.get(reverse("dashboard:queue"))

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=/dashboard/queue/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Log in to see that page." in page.content
    assert b'href="/static/css/dashboard.css"' in page.content


def test_logging_in_on_the_dashboard_page_lands_on_the_page_asked_for(client: Client) -> None:
    user = staff_in("Operations")

    response = client.post(
        reverse("dashboard:login"),
        {"username": user.username, "password": PASSWORD, "next": "/dashboard/queue/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/queue/"
    assert client.get("/dashboard/queue/").status_code == 200


def test_a_wrong_password_is_told_on_the_dashboard_login_page(client: Client) -> None:
    user = staff_in("Operations")

    response = client.post(reverse("dashboard:login"), {"username": user.username, "password": "x"})

    assert response.status_code == 200
    assert b"Please enter the correct username and password for a staff account." in (
        response.content
    )
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_returns_to_the_login_page(client: Client) -> None:
    client.force_login(staff_in("Operations"))

    assert client.get(reverse("dashboard:logout")).status_code == 405
    response = client.post(reverse("dashboard:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:login")
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_staff_sessions_last_a_working_day() -> None:
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60


@pytest.mark.parametrize(
    ("login_url", "extra"),
    [("/dashboard/login/", {}), ("/admin/login/", {"next": "/admin/"})],
    ids=["dashboard", "admin"],
)
def test_forty_wrong_passwords_lock_the_account_even_against_the_right_one(
    client: Client, login_url: str, extra: dict[str, Any]
) -> None:
    user = staff_in("Managers")
    user.is_superuser = True
    user.save()

    statuses = [
        client.post(login_url, {"username": user.username, "password": f"guess-{i}", **extra})
        for i in range(40)
    ]
    right = client.post(login_url, {"username": user.username, "password": PASSWORD, **extra})

    # The first ten are ordinary wrong-password pages; from then on, the lockout page.
    assert [r.status_code for r in statuses[:9]] == [200] * 9
    assert {r.status_code for r in statuses[10:]} == {429}
    assert right.status_code == 429
    assert b"Too many login attempts" in right.content
    assert b"Try again in 30 minutes" in right.content
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_the_lockout_is_per_username_and_address(client: Client) -> None:
    """Another address (another computer) still logs in while one is locked out."""
    user = staff_in("Operations")
    for i in range(10):
        client.post("/dashboard/login/", {"username": user.username, "password": f"g{i}"})

    other = Client(REMOTE_ADDR="10.1.2.3")
    response = other.post("/dashboard/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert (
        client.post(
            "/dashboard/login/", {"username": user.username, "password": PASSWORD}
        ).status_code
        == 429
    )


def test_the_test_clients_login_still_works(client: Client) -> None:
    """A login without a request (no address to throttle) is not refused by the throttle."""
    user = staff_in("Operations")

    assert client.login(username=user.username, password=PASSWORD)
    assert client.get(reverse("dashboard:overview")).status_code == 200
