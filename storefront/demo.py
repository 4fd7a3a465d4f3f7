"""The demo's web shop: a channel whose product pages show the availability widget."""

from __future__ import annotations

from .models import ApiKey, SalesChannel
from .services import api_key_create, channel_create, channel_origins_set

DEMO_CHANNEL = "Demo web shop"
DEMO_ORIGIN = "https://shop.example"


def demo_widget_channel_seed() -> ApiKey:
    """The channel with its store's origin and one publishable key (made once)."""
    channel = SalesChannel.objects.filter(name=DEMO_CHANNEL).first() or channel_create(
        name=DEMO_CHANNEL
    )
    channel_origins_set(channel=channel, origins=[DEMO_ORIGIN])
    found = channel.api_keys.filter(kind=ApiKey.Kind.PUBLISHABLE, revoked_at=None).first()
    if found is not None:
        return found
    api_key, _ = api_key_create(
        channel=channel, name="availability widget", kind=ApiKey.Kind.PUBLISHABLE
    )
    return api_key
