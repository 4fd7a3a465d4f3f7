"""Staff pages for the Mail Order Rule records: one order's record, as a page and as CSV.

Mounted inside the admin by OrderComplianceAdmin.get_urls(), so they need no URLconf entry and
get the admin's login, staff check and never-cache; each view also checks the permission itself.
The records of a period are exported from the dashboard's compliance screen, with the same rows
(compliance.export).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from orders.models import Order

from .export import records_csv_lines
from .models import OrderCompliance
from .selectors import order_record, records_queryset, store_zone

__all__ = ["compliance_record_csv", "compliance_record_page"]

View = TypeVar("View", bound=Callable[..., Any])
PERMISSION = "compliance.view_ordercompliance"


def _get_order(order_id: int) -> Order:
    order = records_queryset(Order.objects.filter(pk=order_id)).first()
    if order is None:
        raise Http404("No such order.")
    return order


def _staff_view(view: View) -> View:
    """Login and staff (to the admin login page), then the permission (403 without it)."""
    checked: View = staff_member_required(
        permission_required(PERMISSION, raise_exception=True)(view)
    )
    return checked


@require_safe
@_staff_view
def compliance_record_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """Everything the rule asks us to keep for one order, as a page."""
    record = order_record(_get_order(order_id))
    context = {
        **admin.site.each_context(request),
        "title": f"Mail Order Rule record: order {record.order.number}",
        "record": record,
        "order": record.order,
        "compliance": record.compliance,
        "store_zone": store_zone(),
        "opts": OrderCompliance._meta,
    }
    return render(request, "compliance/record.html", context)


@require_safe
@_staff_view
def compliance_record_csv(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order(order_id)
    response = HttpResponse(
        "".join(records_csv_lines([order])), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="mail-order-rule-{order.number}.csv"'
    return response
