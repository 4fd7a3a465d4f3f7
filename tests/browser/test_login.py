"""In real Chromium: staff log in through the dashboard's own login page, and out again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password


@pytest.fixture
def operator() -> str:
    from django.contrib.auth.models import Group, Permission

    from dashboard.access import GROUPS

    # A transactional test flushes the groups the migration made: rebuild the one needed.
    group, _ = Group.objects.get_or_create(name="Operations")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="dashboard", codename__in=GROUPS["Operations"]
        )
    )
    user = UserFactory(username="olivia")
    user.groups.add(group)
    return user.username


def test_staff_log_in_on_the_dashboard_login_page_and_out_again(live_server, operator, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(f"{live_server.url}/dashboard/receive/")
    page.wait_for_url(re.compile(r"/dashboard/login/\?next=/dashboard/receive/$"))
    page.get_by_label("Username").fill(operator)
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == (
        "Please enter the correct username and password for a staff account. "
        "Note that both fields may be case-sensitive."
    )

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/receive/$"))
    expect(page.get_by_role("heading", name=re.compile("Receive")).first).to_be_visible()
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("button", name=f"Log out {operator}").click()
    page.wait_for_url(re.compile(r"/dashboard/login/$"))
    page.goto(f"{live_server.url}/dashboard/receive/")
    page.wait_for_url(re.compile(r"/dashboard/login/"))
    context.close()
