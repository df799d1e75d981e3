"""A RevenueCat-compatible REST API v1 on loopback: ``GET /v1/subscribers/{app_user_id}``.

::

    async with RevenueCatServer(secret_key="sk_test") as rc:
        rc.subscribers["org_1"] = {"subscriptions": {...}, "entitlements": {...},
                                   "management_url": "https://..."}
        rc.api_url            # what VIGIL_REVENUECAT_API_URL points at
        rc.requests[-1].headers["authorization"]

Like RevenueCat, an unknown App User ID gets an empty new customer, and a wrong
secret key a 401 with RevenueCat's error body.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.servers.http import HttpServer, RecordedRequest, Reply

_JSON = {"Content-Type": "application/json"}


class RevenueCatServer(HttpServer):
    def __init__(self, *, secret_key: str) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.subscribers: dict[str, dict[str, Any]] = {}

    @property
    def api_url(self) -> str:
        return self.url("/v1")

    def _reply_for(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            body = {"code": 7225, "message": "Invalid API Key."}
            return Reply(401, headers=_JSON, body=json.dumps(body).encode())
        prefix = "/v1/subscribers/"
        if request.method != "GET" or not path.startswith(prefix):
            return super()._reply_for(request)
        user = unquote(path[len(prefix) :])
        found = self.subscribers.get(user, {})
        subscriber = {
            "original_app_user_id": user,
            "first_seen": "2026-01-01T00:00:00Z",
            "entitlements": {},
            "subscriptions": {},
            "non_subscriptions": {},
            "other_purchases": {},
            "management_url": None,
            **found,
        }
        body = {"request_date": "2026-03-01T12:00:00Z", "subscriber": subscriber}
        return Reply(200, headers=_JSON, body=json.dumps(body).encode())
