"""Each insight rule fires on a history seeded for it and stays quiet on a control history."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ai.event import EventInput
from ai.ingest import Accepted, IngestWriter
from ai.insights import list_insights, run_insights
from api.main import create_app
from api.routers.ai import insight_json
from store.clock import FrozenClock
from store.db import Store
from store.monitors import create_monitor
from tests.api.conftest import Tenant, make_settings, make_tenant

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
LAST_HOUR = datetime(2026, 3, 10, 11, 10, tzinfo=UTC)


def ev(**fields: Any) -> EventInput:
    values: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 2000,
        "output_tokens": 300,
        "total_tokens": 2300,
        "latency_ms": 500,
        "created_at": NOW - timedelta(hours=2),
    }
    values.update(fields)
    values.setdefault("total_tokens", values["input_tokens"] + values["output_tokens"])
    if "input_tokens" in fields or "output_tokens" in fields:
        values["total_tokens"] = values["input_tokens"] + values["output_tokens"]
    return EventInput(**values)


def many(n: int, **fields: Any) -> list[EventInput]:
    return [ev(**fields) for _ in range(n)]


def hourly(
    today: dict[str, Any],
    baseline: dict[str, Any] | list[dict[str, Any]],
    *,
    errors_today: int = 0,
) -> list[EventInput]:
    """30 events in the last complete hour and in that hour of each of the 7 days before."""
    out: list[EventInput] = []
    for day in range(8):
        at = LAST_HOUR - timedelta(days=day)
        if day == 0:
            fields = today
        else:
            fields = baseline[day - 1] if isinstance(baseline, list) else baseline
        for k in range(30):
            failed = k < (errors_today if day == 0 else (1 if day % 2 else 0))
            out.append(ev(created_at=at, error="overloaded" if failed else None, **fields))
    return out


def sessions(runaway: float) -> list[EventInput]:
    out = [ev(session_id=f"s{k}", client_cost_usd=0.1) for k in range(6)]
    return [*out, ev(session_id="loop", client_cost_usd=runaway)]


# The same hour on the previous 7 days: median 1,000 ms, MAD 500 ms.
NOISY = [{"latency_ms": ms} for ms in (500, 1500, 500, 1500, 500, 1500, 1000)]
Seed = Callable[[], list[EventInput]]
RULES: list[Any] = [
    pytest.param(
        "model_downgrade",
        lambda: many(60, input_tokens=200, output_tokens=100),
        lambda: many(60, input_tokens=2000, output_tokens=100),
        id="model_downgrade",
    ),
    pytest.param(
        "caching_opportunity",
        lambda: [ev(prompt_hash=f"h{k % 3}") for k in range(30)],
        lambda: [ev(prompt_hash=f"h{k}") for k in range(30)],
        id="caching_repeated_prompts",
    ),
    pytest.param(
        "caching_opportunity",
        lambda: many(60, provider="anthropic", model="claude-sonnet-4-20250514"),
        lambda: many(
            60, provider="anthropic", model="claude-sonnet-4-20250514", cache_read_tokens=1000
        ),
        id="caching_unused_cache",
    ),
    pytest.param(
        "error_spike",
        lambda: hourly({}, {}, errors_today=10),
        lambda: hourly({}, {}, errors_today=1),
        id="error_spike",
    ),
    pytest.param(
        "latency_regression",
        lambda: hourly({"latency_ms": 2000}, {"latency_ms": 500}),
        lambda: hourly({"latency_ms": 560}, {"latency_ms": 500}),
        id="latency_regression",
    ),
    pytest.param(
        "latency_regression",
        lambda: hourly({"latency_ms": 5000}, NOISY),
        # 1.6 x the median, but within 3 robust deviations of a noisy baseline.
        lambda: hourly({"latency_ms": 1600}, NOISY),
        id="latency_regression_noisy_baseline",
    ),
    pytest.param(
        "cost_anomaly",
        lambda: hourly({"client_cost_usd": 0.05}, {"client_cost_usd": 0.01}),
        lambda: hourly({"client_cost_usd": 0.011}, {"client_cost_usd": 0.01}),
        id="cost_anomaly",
    ),
    pytest.param(
        "rag_low_relevance",
        lambda: many(25, rag_docs=4, rag_relevance=0.3),
        lambda: many(25, rag_docs=4, rag_relevance=0.8),
        id="rag_low_relevance",
    ),
    pytest.param(
        "rag_context_bloat",
        lambda: many(25, input_tokens=5000, rag_docs=12, rag_context_tokens=4000),
        lambda: many(25, input_tokens=5000, rag_docs=3, rag_context_tokens=500),
        id="rag_context_bloat",
    ),
    pytest.param(
        "runaway_session", lambda: sessions(5.0), lambda: sessions(0.15), id="runaway_session"
    ),
]


async def _monitor(store: Store, clock: FrozenClock) -> str:
    return (await _tenant_monitor(store, clock))[0]


async def _tenant_monitor(store: Store, clock: FrozenClock) -> tuple[str, Tenant]:
    tenant = await make_tenant(store, clock, f"t{secrets.token_hex(4)}")
    async with store.transaction() as session:
        monitor = await create_monitor(
            session,
            tenant.org_id,
            {"name": "Assistant", "url": "", "type": "LLM", "interval_s": 60, "config": {}}
            | {"regions": ["local"]},
            now=clock.now(),
        )
    return monitor.id, tenant


async def _seed(
    store: Store, clock: FrozenClock, monitor_id: str, events: list[EventInput]
) -> None:
    outcomes = await IngestWriter(store, clock).submit_many(monitor_id, events, key=None)
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes


async def _types(
    store: Store, monitor_id: str, clock: FrozenClock
) -> dict[str, list[dict[str, Any]]]:
    await run_insights(store, clock=clock)
    async with store.transaction() as session:
        rows = [insight_json(r) for r in await list_insights(session, monitor_id)]
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["type"], []).append(r)
    return out


@pytest.mark.parametrize(("rule", "seeded", "control"), RULES)
async def test_rule_fires_on_its_history_and_not_on_the_control(
    store: Store, clock: FrozenClock, rule: str, seeded: Seed, control: Seed
) -> None:
    clock.set(NOW)
    fired = await _monitor(store, clock)
    quiet = await _monitor(store, clock)
    await _seed(store, clock, fired, seeded())
    await _seed(store, clock, quiet, control())
    found = await _types(store, fired, clock)
    assert rule in found, found.keys()
    insight = found[rule][0]
    assert insight["severity"] in ("info", "warning", "critical")
    assert insight["metadata"]["recommendation"] and insight["metadata"]["evidence"]
    assert insight["dismissed"] is False
    assert rule not in await _types(store, quiet, clock)


async def test_insights_are_not_duplicated_and_dismissal_holds_until_evidence_moves(
    store: Store, clock: FrozenClock
) -> None:
    clock.set(NOW)
    mid, tenant = await _tenant_monitor(store, clock)
    await _seed(store, clock, mid, hourly({}, {}, errors_today=8))
    first = (await _types(store, mid, clock))["error_spike"]
    again = (await _types(store, mid, clock))["error_spike"]
    assert [i["id"] for i in again] == [i["id"] for i in first] and len(again) == 1
    app = create_app(make_settings(), store=store, clock=clock)
    tenant_headers = tenant.headers
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vigil.test"
    ) as client:
        url = f"/api/monitors/{mid}/insights"
        listed = (await client.get(url, headers=tenant_headers)).json()["data"]
        assert [i["id"] for i in listed] == [first[0]["id"]]
        assert set(listed[0]) >= {
            "id",
            "monitorId",
            "type",
            "severity",
            "title",
            "description",
            "savings",
            "metadata",
            "dismissed",
            "createdAt",
        }
        r = await client.post(f"{url}/{first[0]['id']}/dismiss", headers=tenant_headers)
        assert r.status_code == 200 and r.json()["data"]["dismissed"] is True
        r = await client.post(f"{url}/ins_nope/dismiss", headers=tenant_headers)
        assert r.status_code == 404
    # Same evidence (8 errors of 30): stays dismissed.
    assert (await _types(store, mid, clock))["error_spike"][0]["dismissed"] is True
    # One more error (9 of 31: 0.27 -> 0.29): not material.
    await _seed(store, clock, mid, [ev(created_at=LAST_HOUR, error="overloaded")])
    assert (await _types(store, mid, clock))["error_spike"][0]["dismissed"] is True
    # Many more (21 of 43, 0.27 -> 0.49): material, shown again.
    await _seed(store, clock, mid, [ev(created_at=LAST_HOUR, error="x") for _ in range(12)])
    back = (await _types(store, mid, clock))["error_spike"]
    assert back[0]["dismissed"] is False and back[0]["id"] == first[0]["id"]
