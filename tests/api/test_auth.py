"""Who may call what: bearer keys, expiry, revocation, read-only keys, tenancy, request ids."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from tests.api.conftest import Tenant
from tests.api.helpers import assert_error, create_monitor, monitor_body


async def _new_key(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/api-keys", headers=tenant.headers, json={"name": "CI", **fields}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_auth_without_a_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/monitors")

    assert_error(
        response, 401, code="unauthenticated", says="send the header 'Authorization: Bearer <key>'"
    )


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Token vigil_abc", id="other-scheme"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer    ", id="blank-token"),
        pytest.param("vigil_abc", id="bare-key"),
    ],
)
async def test_auth_malformed_header_is_401(
    client: httpx.AsyncClient, tenant: Tenant, header: str
) -> None:
    response = await client.get("/api/monitors", headers={"Authorization": header})

    assert_error(response, 401, code="unauthenticated", says="expected 'Bearer <key>'")


async def test_auth_wrong_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/monitors", headers=_bearer(tenant.key + "x"))

    assert_error(response, 401, code="unauthenticated", says="Invalid API key")


async def test_auth_revoked_key_is_401_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    key = await _new_key(client, tenant)
    assert (await client.get("/api/monitors", headers=_bearer(key["key"]))).status_code == 200

    revoked = await client.delete(f"/api/api-keys/{key['id']}", headers=tenant.headers)
    response = await client.get("/api/monitors", headers=_bearer(key["key"]))

    assert revoked.json() == {"message": "API key revoked successfully"}
    assert_error(response, 401, code="unauthenticated", says="revoked; create a new one")


async def test_auth_expired_key_is_401(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    key = await _new_key(client, tenant, expiresAt="2026-03-01T13:00:00Z")
    assert key["expiresAt"] == "2026-03-01T13:00:00.000Z"
    clock.advance(3599)
    assert (await client.get("/api/monitors", headers=_bearer(key["key"]))).status_code == 200

    clock.advance(1)
    response = await client.get("/api/monitors", headers=_bearer(key["key"]))

    assert_error(response, 401, code="unauthenticated", says="expired at 2026-03-01T13:00:00")


WRITES = [
    pytest.param("POST", "/api/monitors", id="create-monitor"),
    pytest.param("PUT", "/api/monitors/{id}", id="update-monitor"),
    pytest.param("DELETE", "/api/monitors/{id}", id="delete-monitor"),
    pytest.param("POST", "/api/monitors/{id}/pause", id="pause-monitor"),
    pytest.param("POST", "/api/api-keys", id="create-key"),
    pytest.param("PATCH", "/api/organization", id="update-organization"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_auth_read_only_key_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str
) -> None:
    monitor_id = await create_monitor(client, tenant)
    reader = await _new_key(client, tenant, readOnly=True)
    assert reader["readOnly"] is True

    response = await client.request(
        method,
        path.format(id=monitor_id),
        headers=_bearer(reader["key"]),
        json=monitor_body(name="Changed"),
    )

    assert_error(response, 403, code="forbidden", says="read-only; use a key with write access")
    fetched = await client.get(f"/api/monitors/{monitor_id}", headers=_bearer(reader["key"]))
    assert fetched.status_code == 200
    assert fetched.json()["data"]["name"] == "Production API"
    assert fetched.json()["data"]["isActive"] is True


VERBS = [
    pytest.param("GET", "", id="get"),
    pytest.param("PUT", "", id="put"),
    pytest.param("DELETE", "", id="delete"),
    pytest.param("POST", "/pause", id="pause"),
    pytest.param("POST", "/resume", id="resume"),
    pytest.param("GET", "/checks", id="checks"),
    pytest.param("GET", "/incidents", id="incidents"),
]


@pytest.mark.parametrize(("method", "suffix"), VERBS)
async def test_auth_other_organizations_monitor_is_404_on_every_verb(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, method: str, suffix: str
) -> None:
    theirs = await create_monitor(client, other_tenant, name="Globex secret", isActive=False)

    response = await client.request(
        method, f"/api/monitors/{theirs}{suffix}", headers=tenant.headers, json={"name": "Mine"}
    )
    missing = await client.request(
        method, f"/api/monitors/mon_doesnotexist{suffix}", headers=tenant.headers, json={}
    )

    body = assert_error(response, 404, code="monitor_not_found")
    assert body["error"] == "Monitor not found"
    for leak in ("Globex", "globex", other_tenant.org_id):
        assert leak not in response.text
    # Someone else's monitor looks exactly like one that does not exist.
    assert {k: v for k, v in body.items() if k != "requestId"} == {
        k: v for k, v in missing.json().items() if k != "requestId"
    }
    unchanged = await client.get(f"/api/monitors/{theirs}", headers=other_tenant.headers)
    assert unchanged.json()["data"]["name"] == "Globex secret"
    assert unchanged.json()["data"]["isActive"] is False


async def test_auth_other_users_api_key_cannot_be_revoked(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = (await client.get("/api/api-keys", headers=other_tenant.headers)).json()["data"][0]

    response = await client.delete(f"/api/api-keys/{theirs['id']}", headers=tenant.headers)

    assert_error(response, 404, code="api_key_not_found", says="API key not found")
    assert "Globex" not in response.text
    still = await client.get("/api/monitors", headers=other_tenant.headers)
    assert still.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "authorized", "status"),
    [
        pytest.param("GET", "/api/monitors", True, 200, id="success"),
        pytest.param("GET", "/api/monitors", False, 401, id="unauthenticated"),
        pytest.param("GET", "/api/monitors/mon_nope", True, 404, id="not-found"),
        pytest.param("GET", "/api/nowhere", False, 404, id="no-route"),
        pytest.param("GET", "/healthz", False, 200, id="health"),
    ],
)
async def test_request_id_is_on_every_response(
    client: httpx.AsyncClient,
    tenant: Tenant,
    method: str,
    path: str,
    authorized: bool,
    status: int,
) -> None:
    response = await client.request(method, path, headers=tenant.headers if authorized else {})

    assert response.status_code == status
    assert response.headers["X-Request-Id"].startswith("req_")


async def test_request_id_echoes_a_sane_client_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        "/api/monitors/mon_nope", headers={**tenant.headers, "X-Request-Id": "trace-1234abcd"}
    )

    assert response.headers["X-Request-Id"] == "trace-1234abcd"
    assert response.json()["requestId"] == "trace-1234abcd"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("short", id="too-short"),
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("x" * 65, id="too-long"),
        pytest.param("evil\u00e9value", id="non-ascii"),
    ],
)
async def test_request_id_replaces_an_unsafe_client_id(
    client: httpx.AsyncClient, tenant: Tenant, sent: str
) -> None:
    headers = [(b"X-Request-Id", sent.encode())]
    headers += [(k.encode(), v.encode()) for k, v in tenant.headers.items()]

    response = await client.get("/api/monitors", headers=headers)

    assert response.headers["X-Request-Id"].startswith("req_")
    assert response.headers["X-Request-Id"] != sent
