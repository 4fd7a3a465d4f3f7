"""Every write to orders, and every write that needs both inventory and orders (allocation).

One module per subject; this package re-exports the public services and the names other
modules import, so `from orders.services import order_place` keeps working."""

from __future__ import annotations

from config.calendar import add_working_days as add_working_days
from orders.money import CENT as CENT
from orders.money import refund_owed_on_close as refund_owed_on_close
from orders.money import shipped_value as shipped_value
from orders.money import shipping_rate_by_table as shipping_rate_by_table
from orders.money import to_cents as to_cents

from ._common import ALLOCATION_BATCH_SIZE as ALLOCATION_BATCH_SIZE
from ._common import _allocation_enqueue as _allocation_enqueue
from ._common import _events_record as _events_record
from ._common import _positive_quantity as _positive_quantity
from ._common import _required_reason as _required_reason
from ._common import _user as _user
from .allocation import TAKEBACK_ORDER as TAKEBACK_ORDER
from .allocation import AllocationResult as AllocationResult
from .allocation import StockChangeResult as StockChangeResult
from .allocation import _allocate_locked as _allocate_locked
from .allocation import _refresh_products_locked as _refresh_products_locked
from .allocation import _take_back_locked as _take_back_locked
from .allocation import allocation_sweep as allocation_sweep
from .allocation import product_allocate as product_allocate
from .allocation import stock_adjust as stock_adjust
from .allocation import stock_receive as stock_receive
from .allocation import stock_receive_and_allocate as stock_receive_and_allocate
from .cancelling import CANCEL_CAUSES as CANCEL_CAUSES
from .cancelling import _cancel_locked as _cancel_locked
from .cancelling import line_cancel as line_cancel
from .cancelling import line_substitute as line_substitute
from .cancelling import order_cancel as order_cancel
from .delivery import DeliveryChangeRefused as DeliveryChangeRefused
from .delivery import order_delivery_change as order_delivery_change
from .eta import EtaChangeResult as EtaChangeResult
from .eta import _eta_refresh_locked as _eta_refresh_locked
from .eta import _eta_refresh_products as _eta_refresh_products
from .eta import _eta_write as _eta_write
from .eta import product_eta_refresh as product_eta_refresh
from .imports import ImportKind as ImportKind
from .imports import ImportRefused as ImportRefused
from .imports import ImportStale as ImportStale
from .imports import catalogue_import_apply as catalogue_import_apply
from .imports import catalogue_import_plan as catalogue_import_plan
from .payments import REFUND_OTHER_METHODS as REFUND_OTHER_METHODS
from .payments import _refund_obligation_create as _refund_obligation_create
from .payments import order_payment_dishonoured as order_payment_dishonoured
from .payments import order_payment_received as order_payment_received
from .payments import refund_due_date as refund_due_date
from .payments import refund_mark_failed as refund_mark_failed
from .payments import refund_mark_issued as refund_mark_issued
from .payments import shipping_rate_for as shipping_rate_for
from .placing import LINE_FIELDS as LINE_FIELDS
from .placing import LineRequest as LineRequest
from .placing import ShippingAddress as ShippingAddress
from .placing import _assign_number as _assign_number
from .placing import _clean_line_requests as _clean_line_requests
from .placing import _customer_get_or_create as _customer_get_or_create
from .placing import order_place as order_place
from .priority import _prioritise_lines as _prioritise_lines
from .priority import line_prioritise as line_prioritise
from .priority import order_prioritise as order_prioritise
from .purchasing import RescheduleResult as RescheduleResult
from .purchasing import _po_product_ids as _po_product_ids
from .purchasing import product_discontinue as product_discontinue
from .purchasing import purchase_order_cancel as purchase_order_cancel
from .purchasing import purchase_order_create as purchase_order_create
from .purchasing import purchase_order_line_cancel as purchase_order_line_cancel
from .purchasing import purchase_order_line_receive as purchase_order_line_receive
from .purchasing import purchase_order_line_reschedule as purchase_order_line_reschedule
from .purchasing import purchase_order_send as purchase_order_send
from .records import order_flag_unreachable as order_flag_unreachable
from .records import order_rule_record as order_rule_record
from .replenishment import low_stock_alerts_record as low_stock_alerts_record
from .replenishment import purchase_orders_from_suggestions as purchase_orders_from_suggestions
from .shipping import SHIPPED_AT_LEEWAY as SHIPPED_AT_LEEWAY
from .shipping import awaiting_payment as awaiting_payment
from .shipping import awaiting_payment_q as awaiting_payment_q
from .shipping import shipment_create as shipment_create
from .shipping import shipment_refusal as shipment_refusal
