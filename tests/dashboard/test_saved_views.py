"""Saved views: a user names a list's filters and sort, finds them on the list again, replaces
or deletes them; nobody sees or deletes anyone else's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.models import SavedView
from tests.factories import staff_in

pytestmark = pytest.mark.django_db
SAVE_URL = reverse("dashboard:saved_view_new")
ORDERS_URL = reverse("dashboard:orders")


@pytest.fixture
def user():
    return staff_in("Operations")


@pytest.fixture
def operations(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_saving_a_view_keeps_its_filters_and_sort_but_not_its_page(operations, user):
    response = operations.post(
        SAVE_URL,
        {
            "list": "orders",
            "name": "  Overdue   Shopify ",
            "query": "deadline=overdue&channel=3&sort=-goods&after=2026-01-01~5&page=2",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{ORDERS_URL}?deadline=overdue&channel=3&sort=-goods"
    view = SavedView.objects.get()
    assert (view.user, view.list_name, view.name) == (user, "orders", "Overdue Shopify")
    html = operations.get(response["Location"]).content.decode()
    assert (
        '<a href="?deadline=overdue&amp;channel=3&amp;sort=-goods" aria-current="true">'
        "Overdue Shopify</a>"
    ) in html


def test_saving_again_under_the_same_name_replaces_the_view(operations):
    for query in ("at_risk=1", "at_risk=1&sort=number"):
        operations.post(SAVE_URL, {"list": "queue", "name": "Risky", "query": query})
    assert list(SavedView.objects.values_list("list_name", "query")) == [
        ("queue", "at_risk=1&sort=number")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"list": "orders", "name": "   "}, "Give the view a name."),
        ({"list": "orders", "name": "x" * 61}, "A view's name is at most 60 characters."),
        ({"list": "secrets", "name": "Mine"}, "There is no list called 'secrets'."),
        (
            {"list": "orders", "name": "Long", "query": "q=" + "a" * 600},
            "These filters are too long to save; remove some and try again.",
        ),
    ],
)
def test_a_view_that_cannot_be_saved_says_why(operations, data, message):
    response = operations.post(SAVE_URL, data, follow=True)
    assert [str(m) for m in response.context["messages"]] == [message]
    assert not SavedView.objects.exists()


def test_each_user_sees_and_deletes_only_their_own_views(operations, user, client):
    mine = SavedView.objects.create(user=user, list_name="orders", name="Mine", query="q=1")
    theirs = SavedView.objects.create(
        user=staff_in("Operations"), list_name="orders", name="Theirs", query="q=2"
    )

    html = operations.get(ORDERS_URL).content.decode()
    assert ">Mine</a>" in html
    assert ">Theirs</a>" not in html
    assert (
        operations.post(reverse("dashboard:saved_view_remove", args=[theirs.pk])).status_code == 404
    )
    response = operations.post(reverse("dashboard:saved_view_remove", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == ORDERS_URL
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Theirs"]


def test_the_queue_and_the_ship_list_keep_their_own_views(operations, user):
    SavedView.objects.create(user=user, list_name="queue", name="Queue view", query="at_risk=1")
    SavedView.objects.create(user=user, list_name="ship", name="Ship view", query="")
    queue = operations.get(reverse("dashboard:queue")).content.decode()
    ship = operations.get(reverse("dashboard:ship")).content.decode()
    assert ">Queue view</a>" in queue
    assert ">Ship view</a>" not in queue
    assert ">Ship view</a>" in ship
    assert ">Queue view</a>" not in ship


def test_saving_a_view_is_a_get_free_post(operations):
    assert operations.get(SAVE_URL).status_code == 405
