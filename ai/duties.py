"""The periodic AI duties run by every dispatcher process: budgets, then insights."""

from __future__ import annotations

import logging

from ai.budgets import check_budgets
from store.clock import Clock, SystemClock
from store.db import Store

log = logging.getLogger(__name__)


async def run_ai_duties(store: Store, *, clock: Clock | None = None) -> None:
    """Check the cost alerts; a failure is logged and retried on the next run."""
    clock = clock or SystemClock()
    try:
        await check_budgets(store, clock=clock)
    except Exception:
        log.exception("AI budget check failed; retrying on the next run")
