"""API key format: `bd_<prefix>_<secret>`; the prefix finds the row, the SHA-256 proves the key."""

from __future__ import annotations

import hashlib
import secrets

KEY_START = "bd_"


def key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(6)
    return f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(raw_key: str) -> str | None:
    if not raw_key.startswith(KEY_START):
        return None
    prefix, _, secret = raw_key[len(KEY_START) :].partition("_")
    return prefix if prefix and secret and len(prefix) <= 16 else None
