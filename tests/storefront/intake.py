"""Helpers for the intake tests: the stores' payload fixtures and signed deliveries."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from django.test import Client

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / name).read_text()))


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(
    url: str,
    data: dict[str, Any] | bytes,
    *,
    secret: str | None,
    headers: dict[str, str],
    signature_header: str,
    content_type: str = "application/json",
) -> Any:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    sent = dict(headers)
    if secret is not None:
        sent[signature_header] = sign(secret, body)
    return Client(enforce_csrf_checks=True).post(url, body, content_type=content_type, headers=sent)
