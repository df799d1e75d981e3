"""Error codes as api-conventions.md has them: `<resource>_not_found` (404), `conflict` (409)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import Tenant
from tests.api.helpers import assert_error
from tests.api.team_helpers import invite

NOT_FOUND_CODE = re.compile(r"^[a-z]+(?:_[a-z]+)*_not_found$")


@pytest.mark.parametrize(
    ("method", "path", "code", "says"),
    [
        pytest.param("GET", "/api/monitors/mon_x", "monitor_not_found", "Monitor not found"),
        pytest.param(
            "GET", "/api/monitors/mon_x/checks", "monitor_not_found", "Monitor", id="checks"
        ),
        pytest.param(
            "GET", "/api/monitors/mon_x/incidents", "monitor_not_found", "Monitor", id="incidents"
        ),
        pytest.param("PUT", "/api/monitors/mon_x", "monitor_not_found", "Monitor", id="put"),
        pytest.param(
            "GET", "/api/alert-channels/ch_x", "alert_channel_not_found", "Alert channel not found"
        ),
        pytest.param(
            "GET", "/api/maintenance/mw_x", "maintenance_window_not_found", "Maintenance window"
        ),
        pytest.param("DELETE", "/api/api-keys/key_x", "api_key_not_found", "API key not found"),
        pytest.param("DELETE", "/api/team/mem_x", "member_not_found", "Team member not found"),
        pytest.param("GET", "/api/heartbeat/hb_x", "heartbeat_not_found", "Heartbeat not found"),
        pytest.param("POST", "/api/heartbeat/hb_x/fail", "heartbeat_not_found", "Heartbeat"),
        pytest.param("GET", "/api/no-such-thing", "endpoint_not_found", "no such endpoint"),
    ],
)
async def test_not_found_names_the_resource(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, code: str, says: str
) -> None:
    response = await client.request(method, path, headers=tenant.headers, json={"name": "x"})

    assert_error(response, 404, code=code, says=says)


async def test_every_404_of_the_api_names_its_resource(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Walk the OpenAPI document: any route with an unknown id answers <resource>_not_found."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    codes = {}
    for path, operations in paths.items():
        # The JSON API; status pages' HTML and documents answer 404 as pages do.
        if "{" not in path or not path.startswith("/api/"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "zz_missing", path)
        for method in operations:
            response = await client.request(
                method.upper(), concrete, headers=tenant.headers, json={}
            )
            if response.status_code == 404:
                codes[(method, path)] = response.json()["code"]

    assert ("get", "/api/monitors/{monitor_id}") in codes  # the walk reached the API
    assert {k: c for k, c in codes.items() if not NOT_FOUND_CODE.match(c)} == {}


async def test_conflicts_answer_conflict(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await invite(client, tenant, "bob@example.com")

    slug = await client.patch("/api/organization", headers=tenant.headers, json={"slug": "globex"})
    member = await client.post(
        "/api/team/invite",
        headers=tenant.headers,
        json={"email": "bob@example.com", "role": "ADMIN"},
    )

    assert_error(slug, 409, code="conflict", says="already taken")
    assert_error(member, 409, code="conflict", says="already a member")
