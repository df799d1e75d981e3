"""``/healthz``, ``/readyz``, ``/openapi.json`` and the body of an unexpected error."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant


async def test_healthz_answers_without_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_when_the_store_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_store_is_unreachable(
    tmp_path: Path, clock: FrozenClock, settings: Settings
) -> None:
    # Nothing listens on port 1. (An unopenable SQLite file would also do, but
    # aiosqlite's connection thread can outlive the test's event loop and fail later.)
    broken = Store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    app = create_app(settings, store=broken, clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://vigil.test"
        ) as c:
            response = await c.get("/readyz")
    finally:
        await broken.close()

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "unavailable"
    assert body["error"].startswith("Store unreachable")


async def test_openapi_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/monitors": {"get", "post"},
        "/api/monitors/{monitor_id}": {"get", "put", "delete"},
        "/api/monitors/{monitor_id}/pause": {"post"},
        "/api/monitors/{monitor_id}/resume": {"post"},
        "/api/monitors/{monitor_id}/checks": {"get"},
        "/api/monitors/{monitor_id}/incidents": {"get"},
        "/api/incidents": {"get"},
        "/api/api-keys": {"get", "post"},
        "/api/api-keys/{key_id}": {"delete"},
        "/api/organization": {"get", "post", "patch"},
        "/api/dashboard/stats": {"get"},
        "/api/billing": {"get"},
        "/api/billing/checkout": {"post"},
        "/api/billing/portal": {"post"},
        "/api/billing/webhook": {"post"},
        "/api/team": {"get"},
        "/api/team/invite": {"post"},
        "/api/team/accept": {"post"},
        "/api/team/{member_id}": {"delete"},
        "/healthz": {"get"},
        "/readyz": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    checks = paths["/api/monitors/{monitor_id}/checks"]["get"]["parameters"]
    assert {p["name"] for p in checks if p["in"] == "query"} == {
        "page",
        "limit",
        "from",
        "to",
        "cursor",
    }


async def test_openapi_operation_ids_are_unique(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    ids = [op["operationId"] for path in paths.values() for op in path.values()]

    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


async def test_internal_error_keeps_the_error_body_and_request_id(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant
) -> None:
    app = create_app(settings, store=store, clock=clock)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as c:
        response = await c.get("/api/broken", headers={"X-Request-Id": "trace-5678efgh"})

    assert response.status_code == 500
    assert response.headers["X-Request-Id"] == "trace-5678efgh"
    assert response.json() == {
        "error": "Internal error; report request id trace-5678efgh to your administrator",
        "code": "internal_error",
        "requestId": "trace-5678efgh",
    }
    assert "a bug" not in response.text
