"""``/api/monitors``: CRUD, pause/resume, a monitor's checks and incidents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from alerting.evaluator import close_incident
from api.body import read_object
from api.deps import Auth, AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, require_role
from api.errors import ApiError, invalid, not_found
from api.idempotency import run_create
from api.monitor_input import (
    Context,
    finish_update,
    limit_refusal,
    plan_refusal,
    target_policy,
    validate,
    with_create_defaults,
)
from api.openapi import body, created
from api.pagination import (
    LimitQuery,
    Page,
    PageQuery,
    TextQuery,
    TimeQuery,
    decode_cursor,
    encode_cursor,
    page_params,
    parse_time,
)
from api.removal import remove_monitor
from api.schemas.common import API_ERRORS, CursorPagination, Data, Message, Out, Paged
from api.schemas.monitors import (
    Check,
    Incident,
    MonitorCreate,
    MonitorFields,
    MonitorWithMessage,
)
from api.schemas.monitors import Monitor as MonitorOut
from api.serialize import (
    check_json,
    incident_json,
    keep_masked_secrets,
    last_check_json,
    monitor_json,
)
from store.checks import count_checks, list_checks
from store.config import Settings
from store.incidents import list_incidents
from store.models import Monitor
from store.monitors import (
    channel_ids,
    count_monitors,
    create_monitor,
    get_monitor,
    last_checks,
    list_monitors,
    update_monitor,
)
from store.orgs import lock_org

router = APIRouter(prefix="/api/monitors", tags=["monitors"], responses=API_ERRORS)
# Keep each answer's shape: optional fields (heartbeatToken...) only where they apply.
SHAPE: Any = {"response_model_exclude_unset": True}


class CheckPage(Out):
    data: list[Check]
    pagination: CursorPagination


def _plan_gate(plan: str, monitor_type: Any) -> None:
    refusal = plan_refusal(plan, monitor_type)
    if refusal is not None:
        raise ApiError(403, refusal)


def _fields_of(m: Monitor, settings: Settings, auth: Auth) -> dict[str, Any]:
    return monitor_json(m, base_url=settings.base_url, can_write=auth.can_write)


@router.get("", response_model=Paged[MonitorOut], **SHAPE)
async def list_all(
    auth: AuthDep,
    session: SessionDep,
    settings: SettingsDep,
    page: PageQuery = None,
    limit: LimitQuery = None,
) -> dict[str, Any]:
    """The organization's monitors, newest first, each with its most recent check.

    Without ``page`` and ``limit`` every monitor is returned ("Retrieve all
    monitors"), with a pagination block of one page; with either, it pages.
    """
    everything = page in (None, "") and limit in (None, "")
    p = page_params(page, limit)
    monitors = await list_monitors(
        session,
        auth.org_id,
        offset=0 if everything else p.offset,
        limit=None if everything else p.limit,
    )
    last = await last_checks(session, [m.id for m in monitors])
    data = [
        {**_fields_of(m, settings, auth), "lastCheck": last_check_json(last.get(m.id))}
        for m in monitors
    ]
    if everything:
        total = len(monitors)
        pagination = {"page": 1, "limit": total, "total": total, "totalPages": 1 if total else 0}
    else:
        pagination = p.block(await count_monitors(session, auth.org_id))
    return {"data": data, "pagination": pagination}


@router.post(
    "",
    status_code=201,
    response_model=Data[MonitorOut],
    openapi_extra=body(MonitorCreate),
    responses=created(
        "monitor_id",
        "monitors_get_one",
        "monitors_update",
        "monitors_remove",
        "monitors_pause",
        "monitors_resume",
        "monitors_checks",
        "monitors_incidents",
        "monitors_monitor_performance",
        "monitors_monitor_uptime",
        "monitors_monitor_sla",
        "ai_ai_usage",
        "ai_ai_events",
        "ai_get_ingest_key",
        "ai_create_ingest_key",
        "ai_delete_ingest_key",
        "ai_insights",
        "ai_get_cost_alert",
        "ai_put_cost_alert",
        "ai_delete_cost_alert",
        "ai_ingest",
        **{
            f"ping_{kind}_{method}": {"token": "$response.body#/data/heartbeatToken"}
            for kind in ("success", "start", "fail")
            for method in ("get", "post")
        },
    ),
    **SHAPE,
    dependencies=[require_role("ADMIN")],
)
async def create(
    request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> Any:
    """Create a monitor; subject to the plan's monitor count and minimum interval."""
    body = await read_object(request)

    async def _create(session: Any) -> tuple[int, dict[str, Any]]:
        # First: concurrent creates must count each other's monitors.
        await lock_org(session, auth.org_id)
        ctx = Context(
            plan=auth.org.plan,
            known_regions=tuple(settings.regions),
            channel_ids=await channel_ids(session, auth.org_id),
            policy=target_policy(auth.org, settings),
        )
        values, issues = validate(body, ctx=ctx)
        if issues:
            raise invalid(issues)
        _plan_gate(auth.org.plan, values.get("type"))
        refusal = limit_refusal(auth.org.plan, await count_monitors(session, auth.org_id))
        if refusal is not None:
            raise ApiError(403, refusal)
        monitor = await create_monitor(
            session, auth.org_id, with_create_defaults(values, ctx), now=clock.now()
        )
        return 201, {"data": _fields_of(monitor, settings, auth)}

    return await run_create(request, auth, store, clock, _create)


async def _owned(session: Any, auth: AuthDep, monitor_id: str) -> Monitor:
    monitor = await get_monitor(session, auth.org_id, monitor_id)
    if monitor is None:
        raise not_found("monitor")
    return monitor


@router.get("/{monitor_id}", response_model=Data[MonitorOut], **SHAPE)
async def get_one(
    monitor_id: str, auth: AuthDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """One monitor with its last 50 check results and 10 most recent incidents."""
    monitor = await _owned(session, auth, monitor_id)
    checks = await list_checks(session, monitor.id, since=None, until=None, limit=50)
    incidents, _ = await list_incidents(session, auth.org_id, monitor_id=monitor.id, limit=10)
    data = _fields_of(monitor, settings, auth)
    data["lastCheck"] = last_check_json(checks[0] if checks else None)
    data["checks"] = [check_json(c, monitor.id) for c in checks]
    data["incidents"] = [incident_json(i) for i, _m in incidents]
    return {"data": data}


@router.put(
    "/{monitor_id}",
    response_model=Data[MonitorOut],
    openapi_extra=body(MonitorFields),
    **SHAPE,
    dependencies=[require_role("ADMIN")],
)
async def update(
    monitor_id: str,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change the fields given; the rest stay as they are."""
    body = await read_object(request)
    monitor = await _owned(session, auth, monitor_id)
    ctx = Context(
        plan=auth.org.plan,
        known_regions=tuple(settings.regions),
        channel_ids=await channel_ids(session, auth.org_id),
        policy=target_policy(auth.org, settings),
    )
    stored = monitor_json(monitor, base_url=settings.base_url, masked=False)
    body = keep_masked_secrets(body, stored)
    values, issues = validate(body, ctx=ctx, current=stored)
    if issues:
        raise invalid(issues)
    if "type" in values:
        _plan_gate(auth.org.plan, values["type"])
    if null_issues := finish_update(values, monitor.type):
        raise invalid(null_issues)
    await update_monitor(session, monitor, values, now=clock.now())
    return {"data": _fields_of(monitor, settings, auth)}


@router.delete("/{monitor_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def remove(
    monitor_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Delete a monitor with its check results, incidents and schedule."""
    monitor = await _owned(session, auth, monitor_id)
    await remove_monitor(session, monitor, now=clock.now())
    return {"message": "Monitor deleted successfully"}


async def _set_active(
    monitor_id: str, active: bool, auth: AuthDep, session: Any, clock: Any, settings: Settings
) -> dict[str, Any]:
    monitor = await _owned(session, auth, monitor_id)
    if not active:
        await close_incident(session, monitor, now=clock.now(), reason="monitor paused")
    await update_monitor(session, monitor, {"is_active": active}, now=clock.now())
    return {
        "data": _fields_of(monitor, settings, auth),
        "message": "Monitor resumed" if active else "Monitor paused",
    }


@router.post(
    "/{monitor_id}/pause",
    response_model=MonitorWithMessage,
    **SHAPE,
    dependencies=[require_role("ADMIN")],
)
async def pause(
    monitor_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Stop running checks until resumed."""
    return await _set_active(monitor_id, False, auth, session, clock, settings)


@router.post(
    "/{monitor_id}/resume",
    response_model=MonitorWithMessage,
    **SHAPE,
    dependencies=[require_role("ADMIN")],
)
async def resume(
    monitor_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Run checks again on the configured interval."""
    return await _set_active(monitor_id, True, auth, session, clock, settings)


@router.get("/{monitor_id}/checks", response_model=CheckPage, **SHAPE)
async def checks(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    page: PageQuery = None,
    limit: LimitQuery = None,
    from_: Annotated[
        TimeQuery, Query(alias="from", description="ISO 8601 start, inclusive")
    ] = None,
    to: Annotated[TimeQuery, Query(description="ISO 8601 end, inclusive")] = None,
    cursor: Annotated[
        TextQuery, Query(description="pagination.nextCursor of the previous page")
    ] = None,
) -> dict[str, Any]:
    """Check results newest first; ``from``/``to`` bound them in time.

    Page/limit paging by default; ``cursor`` (from ``pagination.nextCursor``) walks
    any number of rows without OFFSET cost.
    """
    p: Page = page_params(page, limit)
    since, until = parse_time(from_, "from"), parse_time(to, "to")
    if since and until and since > until:
        raise invalid([("from", "must not be after to")])
    monitor = await _owned(session, auth, monitor_id)
    after = decode_cursor(cursor) if cursor else None
    rows = await list_checks(
        session,
        monitor.id,
        since=since,
        until=until,
        limit=p.limit,
        offset=0 if after else p.offset,
        after=after,
    )
    next_cursor = encode_cursor(rows[-1].checked_at, rows[-1].id) if len(rows) == p.limit else None
    if after is not None:
        pagination: dict[str, Any] = {"limit": p.limit, "nextCursor": next_cursor}
    else:
        total = await count_checks(session, monitor.id, since=since, until=until)
        pagination = {**p.block(total), "nextCursor": next_cursor}
    return {"data": [check_json(c, monitor.id) for c in rows], "pagination": pagination}


@router.get("/{monitor_id}/incidents", response_model=Paged[Incident], **SHAPE)
async def incidents(
    monitor_id: str,
    auth: AuthDep,
    session: SessionDep,
    page: PageQuery = None,
    limit: LimitQuery = None,
) -> dict[str, Any]:
    """A monitor's incidents, newest first, paged as ``/api/incidents``."""
    p = page_params(page, limit)
    monitor = await _owned(session, auth, monitor_id)
    rows, total = await list_incidents(
        session, auth.org_id, monitor_id=monitor.id, offset=p.offset, limit=p.limit
    )
    return {"data": [incident_json(i, m) for i, m in rows], "pagination": p.block(total)}
