"""The periodic AI duties run by every dispatcher process: budgets, then insights."""

from __future__ import annotations

import logging

from ai.budgets import check_budgets
from ai.insights import run_insights
from store.clock import Clock, SystemClock
from store.db import Store
from store.outage import is_store_unavailable

log = logging.getLogger(__name__)
# Insights look at hours and days: every 15 minutes is often enough.
INSIGHTS_EVERY_S = 900.0
_last_insights: dict[str, float] = {}


async def run_ai_duties(store: Store, *, clock: Clock | None = None) -> None:
    """Check the cost alerts, and now and then the insights; failures wait for the next run.

    A store outage is raised for the caller's outage log rather than logged here."""
    clock = clock or SystemClock()
    try:
        await check_budgets(store, clock=clock)
    except Exception as exc:
        if is_store_unavailable(exc):
            raise  # the caller's outage log reports it calmly, once
        log.exception("AI budget check failed; retrying on the next run")
    now_s = clock.now().timestamp()
    if now_s - _last_insights.get(store.url, 0.0) < INSIGHTS_EVERY_S:
        return
    _last_insights[store.url] = now_s
    try:
        await run_insights(store, clock=clock)
    except Exception as exc:
        if is_store_unavailable(exc):
            raise
        log.exception("AI insights failed; retrying on the next run")
