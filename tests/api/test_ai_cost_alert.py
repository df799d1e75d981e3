"""Cost alerts: the reference's GET/PUT/DELETE, and 80 %/100 % alerts once per period by email."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ai.budgets import check_budgets
from alerting.dispatcher import Dispatcher
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import AlertOutbox
from tests.alerting.helpers import make_channel
from tests.api.conftest import Tenant
from tests.api.test_ai_ingest import create_llm, ingest
from tests.servers.receivers import SmtpReceiver

# gpt-4o: 1,000,000 output tokens cost $10.00 (genai-prices), so a client cost is clearer.
COSTLY = {"provider": "openai", "model": "gpt-4o", "promptTokens": 10, "completionTokens": 10}


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpReceiver]:
    async with SmtpReceiver() as receiver:
        yield receiver


async def spend(client: httpx.AsyncClient, monitor_id: str, usd: float) -> None:
    r = await ingest(client, monitor_id, {**COSTLY, "latencyMs": 100, "costUsd": usd})
    assert r.status_code == 200, r.text


async def test_cost_alert_crud_matches_the_reference(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor = await create_llm(client, tenant)
    url = f"/api/monitors/{monitor['id']}/cost-alert"
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 404 and r.json()["code"] == "cost_alert_not_found"
    body = {"dailyBudget": 10.0, "monthlyBudget": 200.0, "alertEmails": "alice@example.com"}
    r = await client.put(url, headers=tenant.headers, json=body)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"id", "monitorId", "dailyBudgetUsd", "monthlyBudgetUsd", "alertEmails"}
    assert data["id"].startswith("ca_") and data["monitorId"] == monitor["id"]
    assert (data["dailyBudgetUsd"], data["monthlyBudgetUsd"]) == (10.0, 200.0)
    assert data["alertEmails"] == "alice@example.com"
    got = (await client.get(url, headers=tenant.headers)).json()["data"]
    assert got == {**data, "lastDailyAlert": None, "lastMonthlyAlert": None}
    r = await client.put(
        url,
        headers=tenant.headers,
        json={"dailyBudget": None, "monthlyBudget": 50, "alertEmails": "a@x.io, b@y.io"},
    )
    assert r.json()["data"]["dailyBudgetUsd"] is None
    assert r.json()["data"]["alertEmails"] == "a@x.io, b@y.io"
    assert r.json()["data"]["id"] == data["id"]
    # The managed email channel is listed, so a person can see where mail goes.
    channels = (await client.get("/api/alert-channels", headers=tenant.headers)).json()["data"]
    assert [c["config"]["recipients"] for c in channels] == [["a@x.io", "b@y.io"]]
    r = await client.delete(url, headers=tenant.headers)
    assert r.json() == {"data": {"deleted": True}}
    assert (await client.get(url, headers=tenant.headers)).status_code == 404
    assert (await client.get("/api/alert-channels", headers=tenant.headers)).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"alertEmails": "a@x.io"}, "dailyBudget", id="no-budget"),
        pytest.param({"dailyBudget": None, "alertEmails": "a@x.io"}, "dailyBudget", id="both-null"),
        pytest.param({"dailyBudget": 5}, "alertEmails", id="no-emails"),
        pytest.param({"dailyBudget": 5, "alertEmails": "not-an-email"}, "alertEmails", id="bad"),
        pytest.param({"dailyBudget": 0, "alertEmails": "a@x.io"}, "dailyBudget", id="zero"),
        pytest.param({"dailyBudget": "5", "alertEmails": "a@x.io"}, "dailyBudget", id="text"),
    ],
)
async def test_cost_alert_rejects_bad_bodies(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    monitor = await create_llm(client, tenant)
    r = await client.put(
        f"/api/monitors/{monitor['id']}/cost-alert", headers=tenant.headers, json=body
    )
    assert r.status_code == 400
    assert field in [f["field"] for f in r.json()["fields"]]


async def test_budget_warns_at_80_and_alerts_at_100_percent_once_per_period(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    smtp: SmtpReceiver,
) -> None:
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    hook = await make_channel(store, clock, tenant.org_id)
    monitor = await create_llm(client, tenant, alertChannels=[hook])
    mid = monitor["id"]
    r = await client.put(
        f"/api/monitors/{mid}/cost-alert",
        headers=tenant.headers,
        json={"dailyBudget": 10, "alertEmails": "alice@example.com, bob@example.com"},
    )
    assert r.status_code == 200
    settings = Settings(smtp_port=smtp.port, smtp_from="vigil@example.com")
    dispatcher = Dispatcher(store, settings, clock=clock)

    await spend(client, mid, 7.99)
    assert await check_budgets(store, clock=clock) == 0  # 79.9 %: quiet
    await spend(client, mid, 0.01)
    assert await check_budgets(store, clock=clock) == 1  # exactly 80 %
    assert await check_budgets(store, clock=clock) == 0  # not twice
    await dispatcher.run_once()
    [warning] = await smtp.wait_for(1)
    assert warning.rcpt_tos == ("alice@example.com", "bob@example.com")
    assert warning.subject == "[AI BUDGET] Chat assistant"
    assert "Chat assistant is at 80 % of its daily AI budget." in warning.text
    # $8 by 12:00 is on pace for $16 by midnight.
    assert (
        "Cause: Daily AI spend is $8.00, 80 % of the $10.00 budget; "
        "on pace to reach $16.00 by the end of the day" in warning.text
    )

    await spend(client, mid, 1.99)
    assert await check_budgets(store, clock=clock) == 0  # 99.9 %
    await spend(client, mid, 0.01)
    assert await check_budgets(store, clock=clock) == 1  # exactly 100 %
    await spend(client, mid, 5)
    assert await check_budgets(store, clock=clock) == 0
    await dispatcher.run_once()
    mails = await smtp.wait_for(2)
    assert "Chat assistant has EXCEEDED its daily AI budget." in mails[1].text
    got = (await client.get(f"/api/monitors/{mid}/cost-alert", headers=tenant.headers)).json()
    assert got["data"]["lastDailyAlert"] == "2026-03-10T12:00:00.000Z"
    assert got["data"]["lastMonthlyAlert"] is None

    async with store.transaction() as session:
        rows = list(await session.scalars(select(AlertOutbox).order_by(AlertOutbox.created_at)))
    # Each alert went to the email list and to the monitor's own channel.
    assert sorted((r.event_type, r.channel_id == hook) for r in rows) == [
        ("ai.budget_exceeded", False),
        ("ai.budget_exceeded", False),
        ("ai.budget_exceeded", True),
        ("ai.budget_exceeded", True),
    ]

    # The next day is a new period: the spend starts from zero.
    clock.set(datetime(2026, 3, 11, 0, 30, tzinfo=UTC))
    assert await check_budgets(store, clock=clock) == 0
    await spend(client, mid, 10)
    assert await check_budgets(store, clock=clock) == 1
    await dispatcher.run_once()
    assert len(await smtp.wait_for(3)) == 3


async def test_monthly_budget_projects_to_the_end_of_the_month(
    client: httpx.AsyncClient,
    tenant: Tenant,
    store: Store,
    clock: FrozenClock,
    smtp: SmtpReceiver,
) -> None:
    # 10 days into a 31-day month.
    clock.set(datetime(2026, 3, 11, 0, 0, tzinfo=UTC))
    monitor = await create_llm(client, tenant, alertChannels=[])
    mid = monitor["id"]
    await client.put(
        f"/api/monitors/{mid}/cost-alert",
        headers=tenant.headers,
        json={"monthlyBudget": 100, "alertEmails": "alice@example.com"},
    )
    await spend(client, mid, 100)
    assert await check_budgets(store, clock=clock) == 1
    await Dispatcher(
        store, Settings(smtp_port=smtp.port, smtp_from="vigil@example.com"), clock=clock
    ).run_once()
    [mail] = await smtp.wait_for(1)
    assert "on pace to reach $310.00 by the end of the month" in mail.text
    assert "has EXCEEDED its monthly AI budget" in mail.text
