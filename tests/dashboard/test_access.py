import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import staff_in

pytestmark = pytest.mark.django_db

OPERATIONS = ["overview", "queue", "products", "orders", "order_new", "receive", "ship"]
MANAGERS = ["purchase_orders", "compliance", "reports"]


def test_the_groups_exist_with_their_permissions():
    assert set(
        Group.objects.get(name="Operations").permissions.values_list("codename", flat=True)
    ) == {"operate"}
    assert set(
        Group.objects.get(name="Managers").permissions.values_list("codename", flat=True)
    ) == {
        "operate",
        "manage",
    }


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/")


def test_staff_without_a_group_gets_403(client):
    client.force_login(staff_in(None))
    assert client.get(reverse("dashboard:queue")).status_code == 403


def test_operations_staff_see_their_screens_but_not_the_managers(client):
    client.force_login(staff_in("Operations"))
    page = client.get(reverse("dashboard:overview")).content.decode()
    for name in OPERATIONS:
        assert f'href="{reverse(f"dashboard:{name}")}"' in page
    for name in MANAGERS:
        assert f'href="{reverse(f"dashboard:{name}")}"' not in page
        assert client.get(reverse(f"dashboard:{name}")).status_code == 403


def test_managers_see_everything(client):
    client.force_login(staff_in("Managers"))
    page = client.get(reverse("dashboard:overview")).content.decode()
    for name in OPERATIONS + MANAGERS:
        assert f'href="{reverse(f"dashboard:{name}")}"' in page
        assert client.get(reverse(f"dashboard:{name}")).status_code == 200


def test_the_site_root_opens_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:overview")
