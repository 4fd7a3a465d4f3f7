"""API key formats: secret `bd_<prefix>_<secret>`, publishable `pk_live_<prefix>_<secret>`; the
prefix finds the row, the SHA-256 proves the key."""

from __future__ import annotations

import hashlib
import secrets

KEY_START = "bd_"
PUBLISHABLE_KEY_START = "pk_live_"


def key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def new_key(*, publishable: bool = False) -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(6)
    start = PUBLISHABLE_KEY_START if publishable else KEY_START
    return f"{start}{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(raw_key: str) -> str | None:
    for start in (KEY_START, PUBLISHABLE_KEY_START):
        if raw_key.startswith(start):
            prefix, _, secret = raw_key[len(start) :].partition("_")
            return prefix if prefix and secret and len(prefix) <= 16 else None
    return None


def is_publishable(raw_key: str) -> bool:
    return raw_key.startswith(PUBLISHABLE_KEY_START)
