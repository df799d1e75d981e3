"""The status pages' periodic duties: tell subscribers, re-verify custom domains."""

from __future__ import annotations

from datetime import datetime

from pages.domains import reverify_domains
from pages.subscribers import announce_pending
from store.clock import SystemClock
from store.config import Settings
from store.db import Store


async def run_page_duties(store: Store, settings: Settings, *, now: datetime | None = None) -> int:
    """One pass; returns how many subscriber messages were queued."""
    now = now or SystemClock().now()
    async with store.transaction() as session:
        queued = await announce_pending(session, now=now, base_url=settings.base_url)
    await reverify_domains(store, nameservers=settings.dns_nameservers, now=now)
    return queued
