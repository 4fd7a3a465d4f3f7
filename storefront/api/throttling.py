from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ChannelRateThrottle(SimpleRateThrottle):
    """Requests per sales channel (all of its keys together)."""

    scope = "channel"

    def get_rate(self) -> str | None:
        # Read on each request so the setting can differ per environment and test.
        return str(settings.API_THROTTLE_RATE) if settings.API_THROTTLE_RATE else None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        channel = getattr(request.user, "channel", None)
        if channel is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": channel.pk}
