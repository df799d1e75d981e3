"""``/api/monitors/:id/cost-alert``: an LLM monitor's daily and monthly budgets."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import delete, select

from ai.budgets import parse_emails, sync_channel
from api.body import read_object
from api.deps import AuthDep, ClockDep, SessionDep
from api.errors import invalid, not_found
from api.openapi import body
from api.routers.ai import llm_monitor
from api.schemas.ai import COST_ALERT_FIELDS, MAX_BUDGET_USD, CostAlert, CostAlertSet, Deleted
from api.schemas.common import API_ERRORS, Data
from api.serialize import iso
from store.ai_models import AiCostAlert
from store.base import new_id
from store.models import AlertChannel

router = APIRouter(tags=["ai"], responses=API_ERRORS)
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+")


def _fields(a: AiCostAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "monitorId": a.monitor_id,
        "dailyBudgetUsd": a.daily_budget_usd,
        "monthlyBudgetUsd": a.monthly_budget_usd,
        "alertEmails": a.alert_emails,
    }


async def _alert_of(session: Any, monitor_id: str) -> AiCostAlert | None:
    found: AiCostAlert | None = await session.scalar(
        select(AiCostAlert).where(AiCostAlert.monitor_id == monitor_id)
    )
    return found


def _budget(body: dict[str, Any], name: str, issues: list[tuple[str, str]]) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append((name, "must be a number of USD, or null"))
        return None
    if not 0 < value <= MAX_BUDGET_USD:
        issues.append((name, f"must be more than 0 and at most {MAX_BUDGET_USD:,.0f}"))
        return None
    return float(value)


@router.get("/api/monitors/{monitor_id}/cost-alert", response_model=Data[CostAlert])
async def get_cost_alert(monitor_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The monitor's budgets and when each last alerted."""
    monitor = await llm_monitor(session, auth, monitor_id)
    alert = await _alert_of(session, monitor.id)
    if alert is None:
        raise not_found("cost_alert", label="Cost alert")
    return {
        "data": {
            **_fields(alert),
            "lastDailyAlert": iso(alert.last_daily_alert),
            "lastMonthlyAlert": iso(alert.last_monthly_alert),
        }
    }


@router.put(
    "/api/monitors/{monitor_id}/cost-alert",
    response_model=Data[CostAlert],
    response_model_exclude_unset=True,
    openapi_extra=body(CostAlertSet),
)
async def put_cost_alert(
    monitor_id: str, request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Create or update the budgets; at least one of daily or monthly must be set."""
    body = await read_object(request)
    issues: list[tuple[str, str]] = [
        (k, "is not a cost alert field") for k in sorted(set(body) - COST_ALERT_FIELDS)
    ]
    daily = _budget(body, "dailyBudget", issues)
    monthly = _budget(body, "monthlyBudget", issues)
    emails = body.get("alertEmails")
    if not isinstance(emails, str) or not parse_emails(emails):
        issues.append(("alertEmails", "is required: a comma-separated list of email addresses"))
    else:
        bad = [e for e in parse_emails(emails) if not _EMAIL.fullmatch(e)]
        if bad:
            issues.append(
                ("alertEmails", f"has addresses that are not valid: {', '.join(bad[:3])}")
            )
    if not issues and daily is None and monthly is None:
        issues.append(("dailyBudget", "or monthlyBudget must be set: at least one budget"))
    if issues:
        raise invalid(issues)
    assert isinstance(emails, str)
    monitor = await llm_monitor(session, auth, monitor_id)
    now = clock.now()
    alert = await _alert_of(session, monitor.id)
    if alert is None:
        alert = AiCostAlert(id=new_id("ca"), monitor_id=monitor.id, created_at=now)
        session.add(alert)
    alert.daily_budget_usd = daily
    alert.monthly_budget_usd = monthly
    alert.alert_emails = ", ".join(parse_emails(emails))
    alert.updated_at = now
    await sync_channel(session, alert, monitor, now=now)
    await session.flush()
    return {"data": _fields(alert)}


@router.delete("/api/monitors/{monitor_id}/cost-alert", response_model=Data[Deleted])
async def delete_cost_alert(monitor_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Remove the budgets (and the email channel they used)."""
    monitor = await llm_monitor(session, auth, monitor_id)
    alert = await _alert_of(session, monitor.id)
    if alert is None:
        raise not_found("cost_alert", label="Cost alert")
    channel_id = alert.channel_id
    await session.execute(delete(AiCostAlert).where(AiCostAlert.id == alert.id))
    if channel_id:
        await session.execute(delete(AlertChannel).where(AlertChannel.id == channel_id))
    return {"data": {"deleted": True}}
