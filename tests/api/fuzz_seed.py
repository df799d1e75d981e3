"""Things for schemathesis to find: one of each resource the API cannot create itself
(an incident, a queued alert, a subscriber's token) or that its links do not reach.

``seed`` makes them on the running server (through the API where it can, as the
workers would where it cannot) and ``config`` binds their ids to the operations
that read or change them, so those operations reach their handlers' logic instead
of answering 404 to random ids. Operations that delete what they name are left to
the ids the fuzzer creates itself, so the seeds stay for the rest of the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from alerting.channels.base import AlertEvent
from alerting.outbox import enqueue
from store.base import new_id
from store.db import Store
from store.models import AlertOutbox
from store.status_page_models import StatusPageSubscriber
from tests.api.conftest import Tenant
from tests.api.helpers import add_check, add_incident, monitor_body

SLUG = "fuzz-page"


@dataclass(frozen=True)
class Seeds:
    http_monitor: str
    llm_monitor: str
    heartbeat_token: str
    incident: str
    component: str
    delivery: str
    subscriber_token: str


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: object
) -> dict[str, Any]:
    response = await client.post(path, headers=tenant.headers, json=body)
    assert response.status_code in (200, 201, 202), (path, response.text)
    data: dict[str, Any] = response.json()["data"]
    return data


async def seed(client: httpx.AsyncClient, store: Store, tenant: Tenant) -> Seeds:
    """An HTTP monitor with checks, an LLM monitor with an event and a budget, a
    heartbeat, a status page with a notice, an incident with an update, a pending
    alert and a pending email subscriber."""
    now = datetime.now(UTC)
    http = (await _post(client, tenant, "/api/monitors", monitor_body()))["id"]
    for hours, status in ((3, "UP"), (2, "DOWN"), (1, "DEGRADED")):
        await add_check(store, http, checked_at=now - timedelta(hours=hours), status=status)
    incident = await add_incident(
        store, org_id=tenant.org_id, monitor_id=http, started_at=now - timedelta(hours=2)
    )
    await _post(
        client,
        tenant,
        f"/api/incidents/{incident}/updates",
        {"status": "identified", "body": "A **bad** deploy."},
    )
    page = await _post(
        client,
        tenant,
        "/api/status-pages",
        {
            "name": "Fuzz",
            "slug": SLUG,
            "monitors": [http],
            "customDomain": "status.fuzz.test",
        },
    )
    await _post(client, tenant, f"/api/status-pages/{SLUG}/notices", {"title": "Heads up"})
    await _post(client, tenant, f"/status/{SLUG}/subscribe", {"email": "visitor@fuzz.test"})
    llm = (await _post(client, tenant, "/api/monitors", {"name": "LLM", "type": "LLM"}))["id"]
    heartbeat = await _post(
        client, tenant, "/api/monitors", {"name": "Job", "type": "HEARTBEAT", "interval": 300}
    )
    event = {"provider": "openai", "model": "gpt-4o", "promptTokens": 150}
    await _post(
        client,
        tenant,
        f"/api/ai/ingest/{llm}",
        {**event, "completionTokens": 80, "latencyMs": 1200},
    )
    await client.put(
        f"/api/monitors/{llm}/cost-alert",
        headers=tenant.headers,
        json={"dailyBudget": 10, "alertEmails": "ops@fuzz.test"},
    )
    channel = await _post(
        client,
        tenant,
        "/api/alert-channels",
        # Nothing delivers during the run (no dispatcher); the URL is loopback anyway.
        {
            "name": "Hook",
            "type": "WEBHOOK",
            "config": {"url": "http://127.0.0.1:9/hook", "secret": "fuzz-secret"},
        },
    )
    async with store.transaction() as session:
        await enqueue(
            session,
            AlertEvent(
                id=new_id("evt"),
                type="monitor.down",
                monitor_id=http,
                monitor_name="Production API",
                monitor_url="https://api.example.com/health",
                occurred_at=now,
                cause="Connection timeout",
            ),
            org_id=tenant.org_id,
            channel_ids=[channel["id"]],
            now=now,
        )
    async with store.transaction() as session:
        delivery = await session.scalar(select(AlertOutbox.id))
        token = await session.scalar(select(StatusPageSubscriber.token))
    assert delivery is not None and token is not None
    return Seeds(
        http_monitor=http,
        llm_monitor=llm,
        heartbeat_token=heartbeat["heartbeatToken"],
        incident=incident,
        component=page["components"][0]["id"],
        delivery=delivery,
        subscriber_token=token,
    )


# (the ids of the operations, the parameter, the seed it takes)
BINDINGS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        (
            "ai_ai_usage",
            "ai_ai_events",
            "ai_get_ingest_key",
            "ai_insights",
            "ai_get_cost_alert",
            "ai_put_cost_alert",
            "ai_ingest",
        ),
        "monitor_id",
        "llm_monitor",
    ),
    (
        (
            "monitors_get_one",
            "monitors_checks",
            "monitors_incidents",
            "monitors_monitor_performance",
            "monitors_monitor_uptime",
            "monitors_monitor_sla",
        ),
        "monitor_id",
        "http_monitor",
    ),
    (
        ("incidents_get_one", "incidents_list_updates", "incidents_create"),
        "incident_id",
        "incident",
    ),
    (("alert_deliveries_retry",), "delivery_id", "delivery"),
    (
        tuple(
            f"ping_{kind}_{method}"
            for kind in ("success", "start", "fail", "exit")
            for method in ("get", "post")
        ),
        "token",
        "heartbeat_token",
    ),
    (
        ("status_pages_public_badge_svg", "status_pages_public_badge_shields"),
        "component_id",
        "component",
    ),
    (
        (
            "status_pages_confirm_form",
            "status_pages_confirm",
            "status_pages_unsubscribe_form",
            "status_pages_unsubscribe",
        ),
        "token",
        "subscriber_token",
    ),
)
# Every operation on the seeded page but those that delete it or rename it.
PAGE_OPERATIONS = (
    "status_pages_get_one",
    "status_pages_start_verification",
    "status_pages_check_verification",
    "status_pages_list_notices",
    "status_pages_create_notice",
    "status_pages_list_subscribers",
    "status_pages_subscribe",
    "status_pages_confirm_form",
    "status_pages_confirm",
    "status_pages_unsubscribe_form",
    "status_pages_unsubscribe",
    "status_pages_public_html_page",
    "status_pages_public_statuspage_json",
    "status_pages_public_atom_feed",
    "status_pages_public_badge_svg",
    "status_pages_public_badge_shields",
)
# Most cases take the seed; the rest keep fuzzing the parameter itself.
PROBABILITY = 0.8


def _bound_operations() -> set[str]:
    return {op for ops, _, _ in BINDINGS for op in ops} | set(PAGE_OPERATIONS)


def hook_environment(seeds: Seeds, own_key_id: str, document: dict[str, Any]) -> dict[str, str]:
    """What ``schemathesis_hooks`` keeps: the seeds and the key, outside their operations."""
    bound = _bound_operations()
    labels = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation["operationId"] in bound
    ]
    kept = [*vars(seeds).values(), SLUG, own_key_id]
    return {"VIGIL_FUZZ_KEPT": json.dumps(kept), "VIGIL_FUZZ_BOUND": json.dumps(sorted(labels))}


def config(base: str, seeds: Seeds) -> str:
    """``base`` (the checked-in schemathesis.toml) with the seeds bound to their operations."""
    values = {**vars(seeds), "slug": SLUG}
    lines = [base.rstrip(), ""]
    for name, value in values.items():
        lines += [f"[dictionaries.{name}]", f"values = [{json.dumps(value)}]", ""]
    # One [[operations]] entry per operation: its bindings, all parameters at once.
    per_operation: dict[str, dict[str, str]] = {}
    for operations, parameter, seed_name in BINDINGS:
        for op in operations:
            per_operation.setdefault(op, {})[parameter] = seed_name
    for op in PAGE_OPERATIONS:
        per_operation.setdefault(op, {})["slug"] = "slug"
    for op, bound in sorted(per_operation.items()):
        lines += ["[[operations]]", f"include-operation-id = {json.dumps(op)}"]
        table = ", ".join(
            f'"{param}" = {{ dictionary = "{name}", probability = {PROBABILITY} }}'
            for param, name in sorted(bound.items())
        )
        lines += [f"parameters = {{ {table} }}", ""]
    return "\n".join(lines)
