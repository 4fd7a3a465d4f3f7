"""Every dashboard address that accepts a POST has a browser test that submits its form in
Chromium; a new write form cannot appear without one. Every form that writes carries its
one-time token."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern

from dashboard.urls import urlpatterns
from tests.browser.test_dashboard_flows import staff

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
HERE = Path(__file__).parent
TEMPLATES = Path(settings.BASE_DIR) / "templates" / "dashboard"

# Each dashboard address that accepts a POST → the browser test (file, function) submitting it.
DASHBOARD_POSTS = {
    "order_goodwill": (
        "test_cancellation_risk_goodwill.py",
        "test_a_manager_gives_goodwill_from_the_cancellation_risk_list",
    ),
    "goodwill_rule_new": ("test_goodwill.py", "test_a_manager_creates_a_goodwill_rule"),
    "goodwill_rule_edit": ("test_goodwill.py", "test_a_manager_creates_a_goodwill_rule"),
    "po_line_cost": ("test_cash_flow.py", "test_a_po_with_a_unit_cost_shows_up_in_the_cash_flow"),
    "login": ("test_login.py", "test_staff_log_in_on_the_dashboard_login_page_and_out_again"),
    "logout": ("test_login.py", "test_staff_log_in_on_the_dashboard_login_page_and_out_again"),
    "queue_prioritise": (
        "test_queue_forms.py",
        "test_a_manager_prioritises_a_line_by_keyboard_alone",
    ),
    "queue_cancel": ("test_queue_forms.py", "test_staff_cancel_a_waiting_line_from_the_queue"),
    "product_import": (
        "test_product_import.py",
        "test_a_manager_uploads_counts_previews_and_applies_them",
    ),
    "receive": (
        "test_dashboard_flows.py",
        "test_staff_receive_stock_and_ship_the_first_order_in_the_queue",
    ),
    "ship_order": (
        "test_dashboard_flows.py",
        "test_staff_receive_stock_and_ship_the_first_order_in_the_queue",
    ),
    "order_new": (
        "test_double_submit.py",
        "test_triple_clicks_on_place_order_and_receive_write_once",
    ),
    "purchase_order_new": (
        "test_purchasing_forms.py",
        "test_a_manager_creates_a_draft_po_then_sends_it",
    ),
    "purchase_order_send": (
        "test_purchasing_forms.py",
        "test_a_manager_creates_a_draft_po_then_sends_it",
    ),
    "purchase_order_cancel": (
        "test_purchasing_forms.py",
        "test_a_manager_cancels_a_po_by_keyboard_alone",
    ),
    "po_line_receive": ("test_purchasing_forms.py", "test_a_manager_receives_part_of_a_po_line"),
    "po_line_reschedule": (
        "test_dashboard_flows.py",
        "test_a_manager_previews_and_saves_a_later_expected_date",
    ),
    "refund_issue": ("test_compliance_forms.py", "test_a_manager_marks_a_refund_issued"),
    "refund_failed": (
        "test_compliance_forms.py",
        "test_a_manager_records_a_failed_refund_and_sees_it_owed_another_way",
    ),
    "follow_up_done": (
        "test_compliance_forms.py",
        "test_a_manager_records_that_the_customer_was_told_by_phone",
    ),
    "webhook_resend": ("test_webhook_resend.py", "test_a_manager_resends_a_failed_webhook"),
    "order_delivery_change": (
        "test_order_actions.py",
        "test_staff_change_an_orders_delivery_from_its_page",
    ),
    "order_email_resend": (
        "test_order_actions.py",
        "test_a_manager_prioritises_cancels_resends_and_records_a_bounced_check",
    ),
    "order_line_cancel": (
        "test_order_actions.py",
        "test_a_manager_prioritises_cancels_resends_and_records_a_bounced_check",
    ),
    "order_line_substitute": (
        "test_order_actions.py",
        "test_staff_apply_a_substitute_starting_from_the_queue",
    ),
    "order_payment_dishonoured": (
        "test_order_actions.py",
        "test_a_manager_prioritises_cancels_resends_and_records_a_bounced_check",
    ),
    "order_payment_received": (
        "test_order_actions.py",
        "test_an_unpaid_order_is_flagged_refused_without_a_reason_then_paid_and_shipped",
    ),
    "order_prioritise": (
        "test_order_actions.py",
        "test_a_manager_prioritises_cancels_resends_and_records_a_bounced_check",
    ),
    "orders_bulk": ("test_lists.py", "test_ship_ticked_orders_and_save_the_view"),
    "saved_view_new": ("test_lists.py", "test_ship_ticked_orders_and_save_the_view"),
    "saved_view_remove": (
        "test_lists.py",
        "test_a_manager_cancels_ticked_orders_with_one_reason_and_deletes_a_view",
    ),
}


def _sample_path(pattern: URLPattern) -> str:
    return "/dashboard/" + re.sub(r"<(?:\w+:)?\w+>", "1", str(pattern.pattern))


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def _accepts_post(client: Client, pattern: URLPattern) -> bool:
    """A write view (one-time token), a view class with a post(), or an address only for POST."""
    view_class = getattr(pattern.callback, "view_class", None)
    if getattr(pattern.callback, "single_submission", False) or hasattr(view_class, "post"):
        return True
    return client.get(_sample_path(pattern)).status_code == 405


def test_every_dashboard_post_address_has_a_browser_test_that_submits_it():
    client = Client()
    client.force_login(User.objects.get(username=staff("morgan", "Managers")))
    accepted = {pattern.name for pattern in urlpatterns if _accepts_post(client, pattern)}
    assert accepted == set(DASHBOARD_POSTS)
    for file_name, test_name in DASHBOARD_POSTS.values():
        assert test_name in _tests_in(HERE / file_name), (file_name, test_name)


def test_every_dashboard_form_that_writes_carries_its_one_time_token():
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        for form in re.findall(r"<form\b[^>]*>.*?</form>", path.read_text(), re.S | re.I):
            head = form[: form.index(">") + 1].lower()
            # Logging in and out write no business data: Django's CSRF check is enough there.
            writes = 'method="post"' in head and "dashboard:log" not in head
            if writes and "{% submission_token %}" not in form:
                missing.append(f"{path.relative_to(TEMPLATES)}: {head}")
    assert missing == []
