"""Roles on every endpoint, found by walking the OpenAPI document.

VIEWER reads only; ADMIN writes everything but the organization and billing; OWNER
does everything. A new write endpoint is covered by these tests the moment it is
declared, so it cannot ship without a role (or without being listed as public).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import Tenant
from tests.api.helpers import assert_error
from tests.api.team_helpers import member

READS = {"get", "head", "options"}
# Endpoints anyone may call without a key, each for a stated reason.
PUBLIC = (
    re.compile(r"^/api/heartbeat/"),  # cron jobs ping with the monitor's token
    re.compile(r"^/api/team/accept$"),  # an invitee has no key yet
    re.compile(r"^/api/billing/webhook$"),  # RevenueCat, with its own Authorization
    re.compile(r"^/status/"),  # a status page's visitors subscribe
    re.compile(r"^/api/ai/ingest/"),  # an application sends its LLM events
    re.compile(r"^/v1/traces$"),  # OTLP exporters, with an ingest key
)
# What only an OWNER may do: the organization itself and its billing.
OWNER_ONLY = {
    ("post", "/api/organization"),
    ("patch", "/api/organization"),
    ("post", "/api/billing/checkout"),
    ("post", "/api/billing/portal"),
}


async def _write_endpoints(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = (await client.get("/openapi.json")).json()["paths"]
    return sorted(
        (method, path)
        for path, operations in paths.items()
        for method in operations
        if method not in READS and not any(p.match(path) for p in PUBLIC)
    )


def _concrete(path: str) -> str:
    """Any id will do: the role is checked before the resource is looked up."""
    return re.sub(r"\{[^}]+\}", "no_such_id", path)


async def test_roles_walk_finds_the_write_endpoints(client: httpx.AsyncClient) -> None:
    """The walk sees the endpoints it should (so an empty walk cannot pass the tests)."""
    endpoints = set(await _write_endpoints(client))

    assert {
        ("post", "/api/monitors"),
        ("delete", "/api/monitors/{monitor_id}"),
        ("post", "/api/team/invite"),
        ("delete", "/api/team/{member_id}"),
        ("post", "/api/api-keys"),
    } | OWNER_ONLY <= endpoints


async def test_roles_viewer_gets_403_on_every_write_endpoint(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, viewer = await member(client, tenant, "viewer@example.com", "VIEWER")

    answers = {}
    for method, path in await _write_endpoints(client):
        response = await client.request(
            method.upper(), _concrete(path), headers=viewer.headers, json={}
        )
        answers[(method, path)] = (response.status_code, response.json().get("code"))

    assert {e: a for e, a in answers.items() if a != (403, "forbidden")} == {}


async def test_roles_viewer_reads(client: httpx.AsyncClient, tenant: Tenant) -> None:
    _, viewer = await member(client, tenant, "viewer@example.com", "VIEWER")

    for path in ("/api/monitors", "/api/team", "/api/organization", "/api/billing"):
        response = await client.get(path, headers=viewer.headers)
        assert response.status_code == 200, (path, response.text)


async def test_roles_admin_is_refused_only_the_owners_endpoints(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """ADMIN passes the role check everywhere else (answers 400/404 for the fake ids)."""
    _, admin = await member(client, tenant, "admin@example.com", "ADMIN")

    refused = set()
    for method, path in await _write_endpoints(client):
        response = await client.request(
            method.upper(), _concrete(path), headers=admin.headers, json={}
        )
        if response.status_code == 403:
            assert_error(response, 403, code="forbidden", says="needs an OWNER")
            refused.add((method, path))

    assert refused == OWNER_ONLY


@pytest.mark.parametrize(
    ("role", "status"),
    [pytest.param("ADMIN", 201, id="admin"), pytest.param("VIEWER", 403, id="viewer")],
)
async def test_roles_admin_manages_monitors_and_team(
    client: httpx.AsyncClient, tenant: Tenant, role: str, status: int
) -> None:
    _, caller = await member(client, tenant, "caller@example.com", role)

    monitor = await client.post(
        "/api/monitors",
        headers=caller.headers,
        json={"name": "x", "url": "https://example.com", "type": "HTTP", "interval": 300},
    )
    invited = await client.post(
        "/api/team/invite",
        headers=caller.headers,
        json={"email": "x@example.com", "role": "VIEWER"},
    )

    assert (monitor.status_code, invited.status_code) == (status, status)
