"""``vigil status``: the fleet at a glance, from the store or from a remote API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from store.clock import SystemClock
from store.config import Settings
from store.db import Store
from store.fleet_status import DownMonitor, FleetStatus, RegionStatus, fleet_status
from workers.admin import UserError


async def status_from_store(settings: Settings) -> FleetStatus:
    """Everything, for every organization: the operator's view."""
    store = Store(settings.database_url)
    try:
        async with store.transaction() as session:
            return await fleet_status(session, now=SystemClock().now())
    finally:
        await store.close()


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def status_from_api(url: str, key: str) -> FleetStatus:
    """What a key can see through the API: regions, the dispatcher's lag, and its
    organization's open incidents (pending checks are known only to the store)."""
    headers = {"Authorization": f"Bearer {key}"}
    try:
        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=10) as client:
            regions = (await client.get("/api/regions")).json()["data"]
            system = (await client.get("/api/status")).json()["data"]
            found = await client.get(
                "/api/incidents", params={"status": "active", "limit": 100}, headers=headers
            )
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise UserError(f"could not read the status from {url}: {exc}") from None
    if found.status_code != 200:
        raise UserError(f"{url} refused the key: {found.json().get('error', found.text)}")
    now = SystemClock().now()
    oldest = next(
        (
            _time(c.get("oldestDueAlertAt"))
            for c in system["components"]
            if c["name"] == "dispatcher"
        ),
        None,
    )
    return FleetStatus(
        at=now,
        regions=[
            RegionStatus(r["region"], r["workerCount"], pending=None, lateness_s=None)
            for r in regions
        ],
        outbox_pending=None,
        outbox_failed=None,
        oldest_pending_s=(now - oldest).total_seconds() if oldest else None,
        down=[
            DownMonitor(
                org_slug="-",
                monitor_id=i["monitorId"],
                name=i.get("monitorName") or "",
                since=_time(i["startedAt"]) or now,
                regions=tuple(i.get("regions") or ()),
            )
            for i in found.json()["data"]
        ],
    )
