"""The notification services, one module per subject; import them from here.

- outbox: notification rows written in the transaction of the change that causes them
  (notification_create; notifications_from_events, the order events' subscriber);
- context: what each email says, gathered at send time beside what its row froze;
- rendering: each email's subject, text and HTML;
- sending: sending claimed rows over one connection, Message-ID, backoff, resending;
- drain: claiming due rows in batches (one drain per transaction), and the sweep;
- tracking: the provider's delivery events and the unreachable flag;
- digest: the staff digest.

Rules: a rolled-back change writes no notification (rows are written inside its transaction);
a notification is sent at most once per claim (pending -> sending, with SKIP LOCKED on
PostgreSQL); a lost drain never loses an email (the sweep drains due rows); the same event
never makes two rows (a unique dedupe key).
"""

from .context import EmailContext, notifications_context
from .digest import staff_digest_create, staff_digest_facts
from .drain import DrainResult, notifications_drain, notifications_send_due, notifications_sweep
from .outbox import notification_create, notifications_from_events, notifications_queue
from .rendering import (
    SUBJECTS,
    Rendered,
    eta_changes_worth_telling,
    notification_render,
    notifications_render,
)
from .sending import (
    TemporaryEmailError,
    notification_message_id,
    notification_resend,
    notification_send,
    notifications_deliver,
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
    "DrainResult",
    "EmailContext",
    "Rendered",
    "TemporaryEmailError",
    "delivery_event_record",
    "eta_changes_worth_telling",
    "notification_create",
    "notification_message_id",
    "notification_render",
    "notification_resend",
    "notification_send",
    "notifications_context",
    "notifications_deliver",
    "notifications_drain",
    "notifications_from_events",
    "notifications_queue",
    "notifications_render",
    "notifications_send_due",
    "notifications_sweep",
    "staff_digest_create",
    "staff_digest_facts",
    "unreachable_flags_repair",
]
