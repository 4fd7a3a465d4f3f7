from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from storefront.models import SalesChannel
from storefront.services import api_key_create, channel_create
from tests.storefront.webhook_server import webhook_server  # noqa: F401 - a fixture


class ApiClient:
    """A storefront calling the API with its key (JSON in, JSON out)."""

    def __init__(self, raw_key: str | None) -> None:
        self.client = Client()
        self.raw_key = raw_key

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = dict(extra)
        if self.raw_key is not None:
            headers.setdefault("Authorization", f"Bearer {self.raw_key}")
        return headers

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers=self._headers(headers))

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(
            path,
            json.dumps(body) if not isinstance(body, str) else body,
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def channel() -> SalesChannel:
    return channel_create(name="Corner Shop")


@pytest.fixture
def raw_key(channel: SalesChannel) -> str:
    return api_key_create(channel=channel)[1]


@pytest.fixture
def api(raw_key: str) -> ApiClient:
    return ApiClient(raw_key)


def order_body(*lines: tuple[str, int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "SHOP-1001",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postal_code": "SW1Y 4JH",
            "country": "GB",
            "phone": "+44 20 7946 0000",
        },
        "lines": [{"sku": sku, "quantity": qty, "unit_price": "25.00"} for sku, qty in lines],
        "shipping_charge": "4.95",
        "payment_state": "paid",
        "payment_method": "card",
    }
    body.update(overrides)
    return body
