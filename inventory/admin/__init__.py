"""Admin for inventory: a thin caller of inventory and orders services.

The Django admin keeps master data, read-only ledgers and histories, and the few corrections
that have no dashboard screen; the daily work is done in the dashboard. The shared parts in
`base` are used by the other apps' admins too.
"""

from . import products, purchasing
from .base import (
    AboveZeroFilter,
    ConfirmForm,
    NoAddOrDeleteMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    ReasonForm,
    annotation_column,
    form_action,
    run_form_action,
)

__all__ = [
    "AboveZeroFilter",
    "ConfirmForm",
    "NoAddOrDeleteMixin",
    "ReadOnlyAdminMixin",
    "ReadOnlyInlineMixin",
    "ReasonForm",
    "annotation_column",
    "form_action",
    "products",
    "purchasing",
    "run_form_action",
]
