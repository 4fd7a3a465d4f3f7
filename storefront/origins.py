"""The web origins a channel's pages are served from (for the availability widget's CORS)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

MAX_ORIGINS = 20
# Plain http only for a developer's own machine; a live store is served over https.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def origin_normalise(value: str) -> str:
    """`https://Shop.Example/` as the browser sends it in an Origin header: `https://shop.example`."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    host = parts.netloc.lower()
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    )
    if (
        not secure
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in host
        or "*" in host
    ):
        raise ValidationError(
            f"'{value.strip()}' is not an origin: give https://, the host name and an optional "
            "port, without a path (e.g. https://shop.example)."
        )
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(f"'{value.strip()}' has an invalid port.") from None
    default = 443 if parts.scheme == "https" else 80
    hostname = host.rsplit(":", 1)[0] if parts.port is not None else host
    return f"{parts.scheme}://{hostname}" + (f":{port}" if port not in (None, default) else "")


def validate_origins(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of origins.")
    if len(value) > MAX_ORIGINS:
        raise ValidationError(f"Give at most {MAX_ORIGINS} origins.")
    for item in value:
        if origin_normalise(item) != item:
            raise ValidationError(f"Write '{item}' as {origin_normalise(item)}.")
