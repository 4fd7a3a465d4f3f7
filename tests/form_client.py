"""A test client that posts dashboard forms as a browser does: with the form's one-time token.

Every dashboard form renders ``{% submission_token %}``; a POST without it is refused (400).
Tests that exercise the token itself pass ``submission_token`` explicitly, or use a plain
``django.test.Client``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.test import Client

from dashboard.submissions import FIELD, new_key


class FormClient(Client):
    def post(self, path: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if str(path).startswith("/dashboard/") and (data is None or isinstance(data, Mapping)):
            data = dict(data or {})
            if FIELD not in data:
                data[FIELD] = new_key()
        return super().post(path, data, *args, **kwargs)
