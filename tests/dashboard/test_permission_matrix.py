"""Every dashboard POST against the permission matrix of the README, one test per cell: each
endpoint × anonymous, staff without a group, Operations, Managers. A refused POST changes
nothing; an allowed one does what it says."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import DelayNotice, NoticeFollowUp
from dashboard.models import SavedView
from inventory.models import PurchaseOrder, Stock
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import GoodwillGrant, GoodwillRule, Order, OrderLine, Refund, Shipment
from orders.selectors import store_today
from orders.services import (
    catalogue_import_plan,
    goodwill_rule_create,
    line_cancel,
    purchase_order_create,
)
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "no group", "Operations", "Managers"]
RANK = {role: rank for rank, role in enumerate(ROLES)}


class World:
    """One of everything a POST can act on."""

    def __init__(self) -> None:
        self.phone = ProductFactory(sku="PHONE-1", on_hand=2, unit_price="20.00")
        self.cable = ProductFactory(sku="CABLE-1", on_hand=0)
        self.cable.substitutes.add(ProductFactory(sku="CABLE-2", on_hand=5))
        self.to_ship = place_order((self.phone, 2))
        self.lamp = ProductFactory(sku="LAMP-1", on_hand=1)
        self.unpaid_to_ship = place_order(
            (self.lamp, 1), paid=False, payment_method=Order.PaymentMethod.MONEY_ORDER
        )
        self.sent_email = Notification.objects.filter(order=self.to_ship).first()
        Notification.objects.filter(pk=self.sent_email.pk).update(
            state=Notification.State.SENT, sent_at=timezone.now()
        )
        self.unpaid_waiting = place_order((self.cable, 3), paid=False).lines.get()
        self.paid_waiting = place_order((self.cable, 2)).lines.get()
        refunded = place_order((self.cable, 1))
        line_cancel(line=refunded.lines.get(), reason="changed their mind")
        self.refund = Refund.objects.get(order=refunded)
        supplier = supplier_create(name="Acme", email="acme@example.com")
        self.supplier = supplier
        self.sent = purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(self.cable, 10, store_today() + dt.timedelta(days=9))],
            send=True,
        )
        self.draft = purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(self.cable, 4, store_today() + dt.timedelta(days=9))],
        )
        # A delay notice whose email bounced: staff must tell the customer another way.
        notice = DelayNotice.objects.create(
            order=self.paid_waiting.order,
            kind=DelayNotice.Kind.FIRST,
            deadline=store_today() + dt.timedelta(days=5),
            delay_reason="Cable: out of stock.",
            answer_by=store_today() + dt.timedelta(days=5),
            decision_key="matrix-notice",
        )
        self.follow_up = NoticeFollowUp.objects.create(
            notice=notice,
            order=self.paid_waiting.order,
            problem="its email bounced",
            due_by=store_today() + dt.timedelta(days=5),
        )
        subscription = WebhookSubscription.objects.create(
            channel=SalesChannel.objects.create(name="Corner Shop"),
            url="https://shop.example.com/hooks",
            event_types=["line.cancelled"],
        )
        # Whoever signs in (set by test_post); saved views belong to one user.
        self.viewer: Any = None
        self.webhook_delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event_type="line.cancelled",
            payload={},
            state=WebhookDelivery.State.FAILED,
            next_attempt_at=timezone.now(),
        )


def line(world_line: OrderLine) -> OrderLine:
    world_line.refresh_from_db()
    return world_line


@dataclass(frozen=True)
class Endpoint:
    name: str
    needs: str  # the least role allowed
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]]
    done: Callable[[World], bool]  # whether the write happened

    def __str__(self) -> str:
        return self.name


def _goodwill_rule() -> GoodwillRule:
    return GoodwillRule.objects.first() or goodwill_rule_create(
        name="Ten days",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=10,
        gesture=GoodwillRule.Gesture.STORE_CREDIT,
        amount=Decimal("10"),
        monthly_budget=Decimal("100"),
    )


def _goodwill_rule_data(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": "long_wait",
        "wait_days": "10",
        "gesture": "store_credit",
        "amount": "10.00",
        "monthly_budget": "100.00",
        "is_active": "on",
    }


def _new_order(w: World) -> dict[str, Any]:
    return {
        "customer_email": "pat@example.com",
        "customer_name": "Pat Phone",
        **PHONE_ORDER_ADDRESS,
        "ship_preference": Order.ShipPreference.SHIP_AVAILABLE,
        "payment_method": Order.PaymentMethod.CARD,
        "shipping_charge": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku": "CABLE-1",
        "lines-0-quantity": "1",
    }


def _stock_count_import(w: World) -> dict[str, Any]:
    content = b"sku,counted\nPHONE-1,5\n"
    plan = catalogue_import_plan(kind="stock_counts", content=content)
    return {
        "kind": "stock_counts",
        "content": base64.b64encode(content).decode(),
        "fingerprint": plan.fingerprint,
        "apply": "1",
    }


def _new_po(w: World) -> dict[str, Any]:
    return {
        "po-supplier": str(w.supplier.pk),
        "po-note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku": "PHONE-1",
        "lines-0-quantity": "6",
        "lines-0-expected_date": (store_today() + dt.timedelta(days=5)).isoformat(),
        "create": "1",
    }


CANCEL = {"reason": "asked by phone", "cause": "customer", "quantity": "1"}


def _own_saved_view(w: World) -> str:
    view = SavedView.objects.create(
        user=w.viewer or staff_in(None), list_name="orders", name="Mine", query="at_risk=1"
    )
    return reverse("dashboard:saved_view_remove", args=[view.pk])


LATER = store_today() + dt.timedelta(days=20)

ENDPOINTS = [
    Endpoint(
        "order_new",
        "Operations",
        lambda w: reverse("dashboard:order_new"),
        _new_order,
        lambda w: Order.objects.filter(customer__email="pat@example.com").exists(),
    ),
    Endpoint(
        "receive",
        "Operations",
        lambda w: reverse("dashboard:receive"),
        lambda w: {"sku": "PHONE-1", "quantity": "3"},
        lambda w: Stock.objects.get(pk=w.phone.pk).on_hand == 5,
    ),
    Endpoint(
        "ship_order",
        "Operations",
        lambda w: reverse("dashboard:ship_order", args=[w.to_ship.pk]),
        lambda w: {f"line_{w.to_ship.lines.get().pk}": "2"},
        lambda w: Shipment.objects.filter(order=w.to_ship).exists(),
    ),
    Endpoint(
        "ship_order (unpaid, with a reason)",
        "Operations",
        lambda w: reverse("dashboard:ship_order", args=[w.unpaid_to_ship.pk]),
        lambda w: {
            f"line_{w.unpaid_to_ship.lines.get().pk}": "1",
            "unpaid_reason": "the customer collects and pays in person",
        },
        lambda w: Shipment.objects.filter(order=w.unpaid_to_ship).exists(),
    ),
    Endpoint(
        "order_line_cancel (unpaid line)",
        "Operations",
        lambda w: reverse("dashboard:order_line_cancel", args=[w.unpaid_waiting.pk]),
        lambda w: CANCEL,
        lambda w: line(w.unpaid_waiting).quantity_cancelled == 1,
    ),
    Endpoint(
        "order_line_cancel (paid line: a refund)",
        "Managers",
        lambda w: reverse("dashboard:order_line_cancel", args=[w.paid_waiting.pk]),
        lambda w: CANCEL,
        lambda w: line(w.paid_waiting).quantity_cancelled == 1,
    ),
    Endpoint(
        "order_line_substitute",
        "Operations",
        lambda w: reverse("dashboard:order_line_substitute", args=[w.unpaid_waiting.pk]),
        lambda w: {"substitute": "CABLE-2", "reason": "agreed by phone"},
        lambda w: line(w.unpaid_waiting).quantity_substituted == 3,
    ),
    Endpoint(
        "order_prioritise",
        "Managers",
        lambda w: reverse("dashboard:order_prioritise", args=[w.unpaid_waiting.order_id]),
        lambda w: {"reason": "VIP"},
        lambda w: Order.objects.get(pk=w.unpaid_waiting.order_id).is_priority,
    ),
    Endpoint(
        "order_payment_received",
        "Operations",
        lambda w: reverse("dashboard:order_payment_received", args=[w.unpaid_to_ship.pk]),
        lambda w: {},
        lambda w: Order.objects.get(pk=w.unpaid_to_ship.pk).paid_at is not None,
    ),
    Endpoint(
        "order_payment_dishonoured",
        "Managers",
        lambda w: reverse("dashboard:order_payment_dishonoured", args=[w.paid_waiting.order_id]),
        lambda w: {"reason": "the check bounced"},
        lambda w: Order.objects.get(pk=w.paid_waiting.order_id).paid_at is None,
    ),
    Endpoint(
        "order_delivery_change",
        "Operations",
        lambda w: reverse("dashboard:order_delivery_change", args=[w.to_ship.pk]),
        lambda w: {
            **PHONE_ORDER_ADDRESS,
            "ship_to_city": "Boston",
            "ship_preference": "ship_complete",
        },
        lambda w: Order.objects.get(pk=w.to_ship.pk).ship_to_city == "Boston",
    ),
    Endpoint(
        "order_email_resend",
        "Operations",
        lambda w: reverse("dashboard:order_email_resend", args=[w.to_ship.pk, w.sent_email.pk]),
        lambda w: {},
        lambda w: Notification.objects.filter(resend_of=w.sent_email).exists(),
    ),
    Endpoint(
        "queue_cancel (unpaid line)",
        "Operations",
        lambda w: reverse("dashboard:queue_cancel", args=[w.unpaid_waiting.pk]),
        lambda w: CANCEL,
        lambda w: line(w.unpaid_waiting).quantity_cancelled == 1,
    ),
    Endpoint(
        "queue_cancel (paid line: a refund)",
        "Managers",
        lambda w: reverse("dashboard:queue_cancel", args=[w.paid_waiting.pk]),
        lambda w: CANCEL,
        lambda w: line(w.paid_waiting).quantity_cancelled == 1,
    ),
    Endpoint(
        "orders_bulk (ship)",
        "Operations",
        lambda w: reverse("dashboard:orders_bulk"),
        lambda w: {"action": "ship", "order": [str(w.to_ship.pk)]},
        lambda w: Shipment.objects.filter(order=w.to_ship).exists(),
    ),
    Endpoint(
        "orders_bulk (cancel: refunds)",
        "Managers",
        lambda w: reverse("dashboard:orders_bulk"),
        lambda w: {"action": "cancel", "reason": "fraud", "order": [str(w.paid_waiting.order_id)]},
        lambda w: line(w.paid_waiting).quantity_cancelled == 2,
    ),
    Endpoint(
        "saved_view_new",
        "Operations",
        lambda w: reverse("dashboard:saved_view_new"),
        lambda w: {"list": "orders", "name": "At risk", "query": "at_risk=1"},
        lambda w: SavedView.objects.filter(name="At risk").exists(),
    ),
    Endpoint(
        "saved_view_remove",
        "Operations",
        _own_saved_view,
        lambda w: {},
        lambda w: not SavedView.objects.filter(name="Mine").exists(),
    ),
    Endpoint(
        "queue_prioritise",
        "Managers",
        lambda w: reverse("dashboard:queue_prioritise", args=[w.unpaid_waiting.pk]),
        lambda w: {"reason": "VIP"},
        lambda w: line(w.unpaid_waiting).priority > 0,
    ),
    Endpoint(
        "purchase_order_new",
        "Managers",
        lambda w: reverse("dashboard:purchase_order_new"),
        _new_po,
        lambda w: PurchaseOrder.objects.count() == 3,
    ),
    Endpoint(
        "purchase_order_send",
        "Managers",
        lambda w: reverse("dashboard:purchase_order_send", args=[w.draft.pk]),
        lambda w: {},
        lambda w: PurchaseOrder.objects.get(pk=w.draft.pk).status == PurchaseOrder.Status.SENT,
    ),
    Endpoint(
        "purchase_order_cancel",
        "Managers",
        lambda w: reverse("dashboard:purchase_order_cancel", args=[w.sent.pk]),
        lambda w: {"reason": "supplier closed"},
        lambda w: PurchaseOrder.objects.get(pk=w.sent.pk).status == PurchaseOrder.Status.CANCELLED,
    ),
    Endpoint(
        "po_line_receive",
        "Managers",
        lambda w: reverse("dashboard:po_line_receive", args=[w.sent.lines.get().pk]),
        lambda w: {"quantity": "2"},
        lambda w: w.sent.lines.get().quantity_received == 2,
    ),
    Endpoint(
        "po_line_reschedule",
        "Managers",
        lambda w: reverse("dashboard:po_line_reschedule", args=[w.sent.lines.get().pk]),
        lambda w: {"expected_date": LATER.isoformat(), "reason": "port strike", "confirm": "1"},
        lambda w: w.sent.lines.get().expected_date == LATER,
    ),
    Endpoint(
        "po_line_cost",
        "Managers",
        lambda w: reverse("dashboard:po_line_cost", args=[w.sent.lines.get().pk]),
        lambda w: {"unit_cost": "7.50"},
        lambda w: w.sent.lines.get().unit_cost == Decimal("7.50"),
    ),
    Endpoint(
        "refund_issue",
        "Managers",
        lambda w: reverse("dashboard:refund_issue", args=[w.refund.pk]),
        lambda w: {"reference": "re_123"},
        lambda w: Refund.objects.get(pk=w.refund.pk).issued_at is not None,
    ),
    Endpoint(
        "refund_failed",
        "Managers",
        lambda w: reverse("dashboard:refund_failed", args=[w.refund.pk]),
        lambda w: {"reason": "card closed", "method": "check"},
        lambda w: Refund.objects.get(pk=w.refund.pk).failed_at is not None,
    ),
    Endpoint(
        "product_import (apply stock counts)",
        "Managers",
        lambda w: reverse("dashboard:product_import"),
        _stock_count_import,
        lambda w: Stock.objects.get(pk=w.phone.pk).on_hand == 5,
    ),
    Endpoint(
        "follow_up_done",
        "Managers",
        lambda w: reverse("dashboard:follow_up_done", args=[w.follow_up.pk]),
        lambda w: {"how": "phoned"},
        lambda w: NoticeFollowUp.objects.get(pk=w.follow_up.pk).done_at is not None,
    ),
    Endpoint(
        "webhook_resend",
        "Managers",
        lambda w: reverse("dashboard:webhook_resend", args=[w.webhook_delivery.pk]),
        lambda w: {},
        lambda w: WebhookDelivery.objects.get(pk=w.webhook_delivery.pk).state == "pending",
    ),
    Endpoint(
        "goodwill_rule_new",
        "Managers",
        lambda w: reverse("dashboard:goodwill_rule_new"),
        lambda w: _goodwill_rule_data("Thanks"),
        lambda w: GoodwillRule.objects.filter(name="Thanks").exists(),
    ),
    Endpoint(
        "order_goodwill",
        "Managers",
        lambda w: reverse("dashboard:order_goodwill", args=[w.paid_waiting.order_id]),
        lambda w: {"rule": str(_goodwill_rule().pk)},
        lambda w: GoodwillGrant.objects.filter(order_id=w.paid_waiting.order_id).exists(),
    ),
    Endpoint(
        "goodwill_rule_edit",
        "Managers",
        lambda w: reverse("dashboard:goodwill_rule_edit", args=[_goodwill_rule().pk]),
        lambda w: _goodwill_rule_data("Renamed"),
        lambda w: GoodwillRule.objects.filter(name="Renamed").exists(),
    ),
]


def logged_in(client: Client, role: str, world: World | None = None) -> Client:
    if role != "anonymous":
        user = staff_in(None if role == "no group" else role)
        client.force_login(user)
        if world is not None:
            world.viewer = user
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_post(client, endpoint: Endpoint, role: str):
    world = World()
    client = logged_in(client, role, world)
    url, data = endpoint.url(world), endpoint.data(world)

    response = client.post(url, data)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
        assert not endpoint.done(world)
    elif RANK[role] < RANK[endpoint.needs]:
        assert response.status_code == 403
        assert not endpoint.done(world)
    else:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert endpoint.done(world)


READ_ONLY = {
    "suppliers",
    "supplier",
    "overview",
    "queue",
    "queue_cancellation_risk",
    "products",
    "product",
    "orders",
    "order",
    "quote",
    "ship",
    "packing_slip",
    "packing_slips",
    "purchase_orders",
    "purchase_order_chase",
    "purchase_order",
    "compliance",
    "compliance_export",
    "reports",
    "report_export",
    "webhook_deliveries",
    "goodwill",
    "cash_flow",
    "cash_flow_export",
}


# Open to anyone: signing in and out (tested in tests/dashboard/test_login.py).
SIGN_IN = {"login", "logout"}


def test_every_dashboard_screen_that_writes_is_in_the_matrix_and_takes_a_token_once():
    """A new screen must be sorted here: one that writes gets a row above and a token."""
    from dashboard.urls import urlpatterns

    writes = {endpoint.name.split(" ")[0] for endpoint in ENDPOINTS}
    names = {pattern.name for pattern in urlpatterns}
    assert names == writes | READ_ONLY | SIGN_IN
    with_token = {
        pattern.name
        for pattern in urlpatterns
        if getattr(pattern.callback, "single_submission", False)
    }
    assert with_token == writes


SCREENS: dict[str, tuple[str, Callable[[World], list[Any]]]] = {
    "overview": ("Operations", lambda w: []),
    "queue": ("Operations", lambda w: []),
    "queue_cancellation_risk": ("Operations", lambda w: []),
    "products": ("Operations", lambda w: []),
    "product": ("Operations", lambda w: [w.phone.pk]),
    "orders": ("Operations", lambda w: []),
    "order": ("Operations", lambda w: [w.to_ship.pk]),
    "quote": ("Operations", lambda w: []),
    "ship": ("Operations", lambda w: []),
    "packing_slip": ("Operations", lambda w: [w.to_ship.pk]),
    "packing_slips": ("Operations", lambda w: []),
    "purchase_orders": ("Managers", lambda w: []),
    "purchase_order_chase": ("Managers", lambda w: []),
    "purchase_order": ("Managers", lambda w: [w.sent.pk]),
    "suppliers": ("Managers", lambda w: []),
    "supplier": ("Managers", lambda w: [w.supplier.pk]),
    "compliance": ("Managers", lambda w: []),
    "compliance_export": ("Managers", lambda w: []),
    "reports": ("Managers", lambda w: []),
    "report_export": ("Managers", lambda w: ["fill-rate"]),
    "webhook_deliveries": ("Managers", lambda w: []),
    "goodwill": ("Managers", lambda w: []),
    "cash_flow": ("Managers", lambda w: []),
    "cash_flow_export": ("Managers", lambda w: ["captures"]),
}


def test_the_screens_below_are_the_read_only_ones():
    assert set(SCREENS) == READ_ONLY


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_get(client, screen: str, role: str):
    needs, args = SCREENS[screen]
    url = reverse(f"dashboard:{screen}", args=args(World()))
    today = store_today().isoformat()
    query = {"start": today, "end": today} if screen == "compliance_export" else {}

    response = logged_in(client, role).get(url, query)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    elif RANK[role] < RANK[needs]:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
