"""Saving and deleting a user's named views of a list."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict

from ..models import SavedView
from .selectors import LISTS

# Where a list stands (its page), not what it shows: never part of a saved view.
PLACE_PARAMS = ("after", "before", "last", "page")


def _kept_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for name in PLACE_PARAMS:
        params.pop(name, None)
    return params.urlencode()


@transaction.atomic
def saved_view_save(*, user: Any, list_name: str, name: str, query: str) -> SavedView:
    """Save a list's filters and sort under a name; saving again under the same name replaces it."""
    name = " ".join((name or "").split())
    if list_name not in LISTS:
        raise ValidationError(f"There is no list called '{list_name[:40]}'.")
    if not name:
        raise ValidationError("Give the view a name.")
    if len(name) > 60:
        raise ValidationError("A view's name is at most 60 characters.")
    kept = _kept_query(query or "")
    if len(kept) > 500:
        raise ValidationError("These filters are too long to save; remove some and try again.")
    view, _ = SavedView.objects.update_or_create(
        user=user, list_name=list_name, name=name, defaults={"query": kept}
    )
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView) -> None:
    """Forget a saved view."""
    view.delete()
