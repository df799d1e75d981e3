"""Public system endpoints: ``/api/status`` and ``/api/regions``."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import generate_latest
from sqlalchemy import func, select, text

from api.deps import AuthDep, ClockDep, StoreDep
from api.schemas.common import API_ERRORS, PUBLIC_ERRORS, Data
from api.schemas.system import Region, SystemStatus
from api.serialize import iso
from api.unavailable import store_failed
from store.channel_health import failing_channels
from store.models import AlertOutbox, Incident, Monitor
from store.workers_registry import WorkerInfo, live_regions, live_workers

router = APIRouter(prefix="/api", tags=["system"], responses=PUBLIC_ERRORS)
log = logging.getLogger("vigil.api")
# Alerts due longer than this mean no dispatcher is keeping up.
DISPATCH_LAG_LIMIT = timedelta(minutes=2)


@router.get("/regions", response_model=Data[list[Region]])
async def regions(store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    """Regions with live workers: how many, and when one was last seen."""
    async with store.transaction() as session:
        found = await live_regions(session, now=clock.now())
    return {
        "data": [
            {
                "region": r.region,
                "workerCount": r.worker_count,
                "healthyWorkerCount": r.healthy_count,
                "lastSeenAt": iso(r.last_seen_at),
            }
            for r in found
        ]
    }


@router.get("/status", response_model=Data[SystemStatus], response_model_exclude_unset=True)
async def status(store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    """The system's own health: the store, each region's workers, the alert dispatcher."""
    now = clock.now()
    components: list[dict[str, Any]] = []
    try:
        async with store.transaction() as session:
            await session.execute(text("SELECT 1"))
            workers = await live_workers(session, now=now)
            oldest_due = await session.scalar(
                select(func.min(AlertOutbox.next_attempt_at)).where(
                    AlertOutbox.status == "pending", AlertOutbox.next_attempt_at <= now
                )
            )
            failing = await failing_channels(session)
            dead_letters = await session.scalar(
                select(func.count()).where(AlertOutbox.status == "failed")
            )
    except Exception as exc:
        if store_failed(exc, store) is None:
            raise
        components.append(
            {"name": "store", "status": "down", "error": "unreachable; see the API's log"}
        )
        return {"data": {"status": "degraded", "components": components}}
    components.append({"name": "store", "status": "operational"})
    by_region: dict[str, list[Any]] = {}
    for w in workers:
        by_region.setdefault(w.region, []).append(w)
    sick_regions = False
    for region, members in sorted(by_region.items()):
        healthy = sum(1 for m in members if m.healthy)
        # A region whose every worker fails its canary checks nothing it can trust.
        state = "operational" if healthy == len(members) else "degraded" if healthy else "down"
        sick_regions = sick_regions or state != "operational"
        components.append(
            {
                "name": f"workers:{region}",
                "status": state,
                "workerCount": len(members),
                "healthyWorkerCount": healthy,
                "lastSeenAt": iso(max(m.last_seen_at for m in members)),
                "workers": [_worker_json(m) for m in members],
            }
        )
    lagging = oldest_due is not None and now - oldest_due > DISPATCH_LAG_LIMIT
    components.append(
        {
            "name": "dispatcher",
            "status": "degraded" if lagging else "operational",
            "oldestDueAlertAt": iso(oldest_due),
        }
    )
    # Public: counts and times only, no channel names or errors (those are in the
    # organization's delivery log).
    components.append(
        {
            "name": "alert-channels",
            "status": "degraded" if failing else "operational",
            "failingChannels": len(failing),
            "failingSince": iso(failing[0].failing_since) if failing else None,
            "undeliveredAlerts": int(dead_letters or 0),
        }
    )
    overall = "degraded" if lagging or not workers or failing or sick_regions else "operational"
    return {"data": {"status": overall, "components": components}}


def _worker_json(w: WorkerInfo) -> dict[str, Any]:
    data: dict[str, Any] = {"id": w.id, "version": w.version, "healthy": w.healthy}
    if not w.healthy:
        data["canaryError"] = w.canary_error
        data["unhealthySince"] = iso(w.unhealthy_since)
    return data


METRICS_TYPE = "text/plain; version=0.0.4"
_ERROR_REF = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
metrics_router = APIRouter(tags=["system"], responses=API_ERRORS)


@metrics_router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {METRICS_TYPE: {"schema": {"type": "string"}}}},
        # Written out: with a model, FastAPI would give errors this route's text type.
        **{
            s: {"description": r["description"], "content": {"application/json": _ERROR_REF}}
            for s, r in API_ERRORS.items()
        },
    },
)
async def metrics(auth: AuthDep, store: StoreDep, clock: ClockDep) -> PlainTextResponse:
    """The organization's figures, and the fleet's live workers, in Prometheus text format.

    Needs an API key (scrapers send it as a bearer token); counts are the key's
    organization's.
    """
    now = clock.now()
    async with store.transaction() as session:
        monitors = await session.execute(
            select(Monitor.type, Monitor.is_active, func.count())
            .where(Monitor.org_id == auth.org_id)
            .group_by(Monitor.type, Monitor.is_active)
        )
        active_incidents = await session.scalar(
            select(func.count()).where(Incident.is_active.is_(True), Incident.org_id == auth.org_id)
        )
        outbox = await session.execute(
            select(AlertOutbox.status, func.count())
            .where(AlertOutbox.org_id == auth.org_id)
            .group_by(AlertOutbox.status)
        )
        workers = await live_regions(session, now=now)
        failing = await failing_channels(session, org_id=auth.org_id)
    lines = [
        "# HELP vigil_monitors Monitors by type and state.",
        "# TYPE vigil_monitors gauge",
        *(f'vigil_monitors{{type="{t}",active="{str(a).lower()}"}} {n}' for t, a, n in monitors),
        "# HELP vigil_incidents_active Incidents open now.",
        "# TYPE vigil_incidents_active gauge",
        f"vigil_incidents_active {int(active_incidents or 0)}",
        "# HELP vigil_alerts Alert outbox rows by delivery status.",
        "# TYPE vigil_alerts gauge",
        *(f'vigil_alerts{{status="{s}"}} {n}' for s, n in outbox),
        "# HELP vigil_alert_channel_failing_since_seconds Unix time a failing channel's "
        "current run of failed deliveries began (only failing channels are listed).",
        "# TYPE vigil_alert_channel_failing_since_seconds gauge",
        *(
            f'vigil_alert_channel_failing_since_seconds{{channel="{f.channel_id}"}} '
            f"{f.failing_since.timestamp():.0f}"
            for f in failing
        ),
        "# HELP vigil_workers Live workers by region.",
        "# TYPE vigil_workers gauge",
        *(f'vigil_workers{{region="{r.region}"}} {r.worker_count}' for r in workers),
    ]
    # This process's own metrics (requests; in `vigil run` also checks and alerts).
    own = generate_latest().decode()
    return PlainTextResponse("\n".join(lines) + "\n" + own, media_type=METRICS_TYPE)
