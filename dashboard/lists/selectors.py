"""A user's saved views of a list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ..models import SavedView

# The lists that keep saved views: list name → the URL name of its screen.
LISTS = {
    "orders": "dashboard:orders",
    "queue": "dashboard:queue",
    "ship": "dashboard:ship",
    "products": "dashboard:products",
    "purchase_orders": "dashboard:purchase_orders",
}


def saved_views(*, user: Any, list_name: str) -> QuerySet[SavedView]:
    """The user's saved views of one list, by name."""
    return SavedView.objects.filter(user=user, list_name=list_name).order_by("name", "id")


def saved_view_of(*, user: Any, view_id: int) -> SavedView:
    """One of the user's own saved views (DoesNotExist for anyone else's)."""
    return SavedView.objects.get(pk=view_id, user=user)
