"""``/api/config``: apply and export through the API, its roles, dry runs and errors."""

from __future__ import annotations

import json

import httpx
import yaml

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_tenant
from tests.api.fleet_documents import FULL, SECRETS, export_text, snapshot
from tests.api.helpers import assert_error
from tests.api.team_helpers import member

YAML = {"Content-Type": "application/yaml"}


def resolved(text: str) -> str:
    """FULL with its references written in place (the API resolves none)."""
    for name, value in SECRETS.items():
        text = text.replace("${" + name + "}", value)
    return text


async def test_apply_needs_an_admin_and_a_viewer_gets_403(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    _, viewer = await member(client, tenant, "viewer@example.com", "VIEWER")
    _, admin = await member(client, tenant, "admin@example.com", "ADMIN")
    before = await snapshot(store)

    refused = await client.post(
        "/api/config/apply", headers={**viewer.headers, **YAML}, content=resolved(FULL)
    )
    assert_error(refused, 403, code="forbidden", says="needs an OWNER or ADMIN")
    assert await snapshot(store) == before
    exported = await client.get("/api/config/export", headers=viewer.headers)
    assert exported.status_code == 200  # reading is a viewer's right; it holds no secret

    applied = await client.post(
        "/api/config/apply", headers={**admin.headers, **YAML}, content=resolved(FULL)
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["data"]["summary"] == {
        "create": 9,
        "update": 0,
        "delete": 0,
        "unchanged": 0,
    }


async def test_dry_run_answers_the_plan_and_writes_nothing(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    before = await snapshot(store)

    response = await client.post(
        "/api/config/apply?dryRun=true",
        headers={**tenant.headers, **YAML},
        content=resolved(FULL),
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["dryRun"], data["applied"]) == (True, False)
    assert data["changes"][0] == {
        "action": "create",
        "section": "alertChannels",
        "name": "Ops hook",
        "fields": [],
        "id": None,
        "note": None,
    }
    assert data["lines"][-1] == "Plan: 9 to create, 0 to update, 0 to delete, 0 unchanged."
    assert await snapshot(store) == before


async def test_json_document_applies_and_export_shows_no_secret(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    document = json.dumps(yaml.safe_load(resolved(FULL)), indent=2, default=str)

    first = await client.post(
        "/api/config/apply",
        headers={**tenant.headers, "Content-Type": "application/json"},
        content=document,
    )
    second = await client.post(
        "/api/config/apply?prune=true",
        headers={**tenant.headers, "Content-Type": "application/json"},
        content=document,
    )
    exported = await client.get("/api/config/export", headers=tenant.headers)

    assert first.status_code == 200, first.text
    assert second.json()["data"]["summary"]["unchanged"] == 9
    assert exported.headers["content-type"].startswith("application/yaml")
    assert exported.text == await export_text(store, tenant.org_id)
    for secret in SECRETS.values():
        assert secret not in exported.text


async def test_errors_are_400_with_field_and_line_and_write_nothing(
    client: httpx.AsyncClient, store: Store, tenant: Tenant
) -> None:
    before = await snapshot(store)
    document = (
        "monitors:\n"
        "  - name: A\n    type: PING\n    url: a.example\n"
        "  - name: B\n    type: PING\n    url: b.example\n    interval: 5\n"
        "alertChannels:\n"
        "  - name: Hook\n    type: WEBHOOK\n    config:\n"
        "      url: https://h.example\n      secret: ${HOOK_SECRET}\n"
    )

    response = await client.post(
        "/api/config/apply", headers={**tenant.headers, **YAML}, content=document
    )

    # A reference is refused while the document is read, before anything is validated.
    body = assert_error(
        response, 400, code="invalid_request", says="line 14: alertChannels[0].config.secret"
    )
    assert body["fields"] == [
        {
            "field": "alertChannels[0].config.secret",
            "issue": "refers to ${HOOK_SECRET}, but the API reads no environment variables: "
            "write the value in place, or apply the file with 'vigil apply'",
            "line": 14,
        },
    ]
    assert await snapshot(store) == before

    fixed = document.replace("${HOOK_SECRET}", "whsec_0123456789")
    response = await client.post(
        "/api/config/apply", headers={**tenant.headers, **YAML}, content=fixed
    )
    body = assert_error(
        response, 400, code="invalid_request", says="line 8: monitors[1].interval must be"
    )
    assert body["fields"] == [
        {
            "field": "monitors[1].interval",
            "issue": "must be between 15 and 3600 on the ENTERPRISE plan",
            "line": 8,
        }
    ]
    assert await snapshot(store) == before


async def test_idempotency_key_replays_the_plan(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers, **YAML, "Idempotency-Key": "apply-1"}
    document = "monitors:\n  - {name: A, type: PING, url: a.example}\n"

    first = await client.post("/api/config/apply", headers=headers, content=document)
    again = await client.post("/api/config/apply", headers=headers, content=document)

    assert first.json()["data"]["summary"]["create"] == 1
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_untrusted_org_applies_internal_targets_that_stay_refused(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    """The target policy is judged where connections are made, for apply as for the API."""
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    document = (
        "alertChannels:\n  - name: Inside\n    type: WEBHOOK\n    config:\n"
        "      url: http://127.0.0.1:9/admin\n      secret: whsec_0123456789\n"
    )
    applied = await client.post(
        "/api/config/apply", headers={**outsider.headers, **YAML}, content=document
    )
    channel_id = applied.json()["data"]["changes"][0]["id"]

    sent = await client.post(f"/api/alert-channels/{channel_id}/test", headers=outsider.headers)

    data = sent.json()["data"]
    assert data["ok"] is False
    assert data["error"].startswith(
        "webhook 'Inside': Refused to connect: 127.0.0.1, a loopback address"
    )


async def test_untrusted_org_cannot_apply_a_monitor_on_an_internal_literal_address(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    outsider = await make_tenant(store, clock, "outsider", trusted=False)
    document = "monitors:\n  - name: Redis\n    type: TCP\n    url: tcp://127.0.0.1:6379\n"
    applied = await client.post(
        "/api/config/apply", headers={**outsider.headers, **YAML}, content=document
    )
    body = assert_error(applied, 400, code="invalid_request", says="127.0.0.1, a loopback")
    assert body["fields"][0]["field"] == "monitors[0].url" and body["fields"][0]["line"] == 4
    listed = await client.get("/api/monitors", headers=outsider.headers)
    assert listed.json()["data"] == []
