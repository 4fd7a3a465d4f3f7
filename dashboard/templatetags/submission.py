from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..submissions import FIELD, new_key

register = template.Library()


@register.simple_tag
def submission_token() -> SafeString:
    """The hidden one-time token of a form that writes (see dashboard.submissions)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_key())
