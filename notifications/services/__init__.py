"""The notification services, one module per subject; import them from here.

- outbox: notification rows written in the transaction of the change that causes them
  (notification_create; notifications_from_events, the order events' subscriber);
- rendering: what each email says;
- sending: the claimed send, Message-ID, backoff, the sweep and resending;
- tracking: the provider's delivery events and the unreachable flag;
- digest: the staff digest.

Rules: a rolled-back change writes no notification (rows are written inside its transaction);
a notification is sent at most once per claim (a conditional UPDATE pending -> sending); a lost
task never loses an email (the sweep re-enqueues pending rows); the same event never makes two
rows (a unique dedupe key).
"""

from .digest import staff_digest_create, staff_digest_facts
from .outbox import notification_create, notifications_from_events
from .rendering import SUBJECTS, Rendered, eta_changes_worth_telling, notification_render
from .sending import (
    TemporaryEmailError,
    notification_message_id,
    notification_resend,
    notification_send,
    notifications_sweep,
)
from .tracking import (
    TRACKING_FINAL,
    TRACKING_STATES,
    delivery_event_record,
    unreachable_flags_repair,
)

__all__ = [
    "SUBJECTS",
    "TRACKING_FINAL",
    "TRACKING_STATES",
    "Rendered",
    "TemporaryEmailError",
    "delivery_event_record",
    "eta_changes_worth_telling",
    "notification_create",
    "notification_message_id",
    "notification_render",
    "notification_resend",
    "notification_send",
    "notifications_from_events",
    "notifications_sweep",
    "staff_digest_create",
    "staff_digest_facts",
    "unreachable_flags_repair",
]
