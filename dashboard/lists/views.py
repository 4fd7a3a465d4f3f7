"""Dashboard: saving, choosing and deleting named views of a list (its filters and sort); each
list shows them with templates/dashboard/lists/saved_views.html."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from ..access import operations_required
from ..models import SavedView
from ..submissions import single_submission
from .selectors import LISTS, saved_view_of, saved_views
from .services import saved_view_delete, saved_view_save


def saved_views_context(request: HttpRequest, *, list_name: str) -> dict[str, Any]:
    """What the saved-views bar of a list needs: the user's views and the list's query now."""
    query = request.GET.copy()
    for name in ("after", "before", "last", "page"):
        query.pop(name, None)
    current = query.urlencode()
    return {
        "saved_list": list_name,
        "saved_views": list(saved_views(user=request.user, list_name=list_name)),
        "saved_query": current,
    }


def _list_url(list_name: str, query: str = "") -> str:
    url = reverse(LISTS.get(list_name, "dashboard:orders"))
    return f"{url}?{query}" if query else url


@require_POST
@operations_required
@single_submission
def saved_view_new(request: HttpRequest) -> HttpResponse:
    list_name = request.POST.get("list", "")
    try:
        view = saved_view_save(
            user=request.user,
            list_name=list_name,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(_list_url(list_name, request.POST.get("query", "")))
    messages.success(request, f"Saved this view as “{view.name}”.")
    return redirect(_list_url(view.list_name, view.query))


@require_POST
@operations_required
@single_submission
def saved_view_remove(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        view = saved_view_of(user=request.user, view_id=view_id)
    except SavedView.DoesNotExist as exc:
        raise Http404("You have no saved view with this id.") from exc
    saved_view_delete(view=view)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_list_url(view.list_name))


urlpatterns = [
    path("views/", saved_view_new, name="saved_view_new"),
    path("views/<int:view_id>/delete/", saved_view_remove, name="saved_view_remove"),
]
