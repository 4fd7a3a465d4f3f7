"""The FTC Mail Order Rule services, one module per subject: the engine that decides for an
order (`engine`), the runs over many orders in batches (`run`), the notices it sends
(`notices`), staff follow-ups when a notice's email failed (`follow_ups`) and the customer's
answers (`answers`). Import them from here."""

from .answers import AnswerNotOffered, consent_answer, order_cancel_before_shipment
from .engine import order_rule_evaluate, rule_from_events
from .follow_ups import notice_follow_up_done
from .run import RULE_BATCH_SIZE, rule_failure_record, rule_run

__all__ = [
    "RULE_BATCH_SIZE",
    "AnswerNotOffered",
    "consent_answer",
    "notice_follow_up_done",
    "order_cancel_before_shipment",
    "order_rule_evaluate",
    "rule_failure_record",
    "rule_from_events",
    "rule_run",
]
