"""``/api/alert-channels``: where alerts go, and a test send through each.

Secrets are never returned in full, not even in the 201 that creates the channel
(where the reference echoes the config): every response shows the config through
``mask_config``, so a secret lives only in the store and with whoever typed it.
A PATCH that sends back a masked value unchanged keeps the stored secret, so a
client can edit a channel it has read without re-entering its secrets.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from alerting.channels.base import AlertEvent, ChannelSpec
from alerting.channels.registry import deliver_via, mask_config
from alerting.dispatcher import delivery_context
from api.body import read_object
from api.channel_input import read_create, read_update
from api.deps import AuthDep, ClockDep, SessionDep, SettingsDep, StoreDep, require_role
from api.errors import invalid, not_found
from api.idempotency import run_create
from api.openapi import body, created
from api.schemas.alerting import Channel, ChannelCreate, ChannelUpdate, TestDelivery
from api.schemas.common import API_ERRORS, Data, Message
from api.serialize import iso
from store.base import new_id
from store.channels import (
    create_channel,
    delete_channel,
    get_channel,
    list_channels,
    update_channel,
)
from store.clock import Clock
from store.models import AlertChannel

router = APIRouter(prefix="/api/alert-channels", tags=["alert-channels"], responses=API_ERRORS)


def channel_json(c: AlertChannel) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "type": c.type,
        "config": mask_config(c.type, c.config),
        "isActive": c.is_active,
        "orgId": c.org_id,
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
    }


@router.get("", response_model=Data[list[Channel]])
async def list_all(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """The organization's alert channels, secrets masked."""
    return {"data": [channel_json(c) for c in await list_channels(session, auth.org_id)]}


@router.post(
    "",
    status_code=201,
    response_model=Data[Channel],
    openapi_extra=body(ChannelCreate),
    responses=created(
        "channel_id", "alert_channels_get_one", "alert_channels_update", "alert_channels_remove"
    ),
    dependencies=[require_role("ADMIN")],
)
async def create(request: Request, auth: AuthDep, store: StoreDep, clock: ClockDep) -> Any:
    """Add a channel; its config is checked by the channel type's own rules."""
    body = await read_object(request)
    new, issues = read_create(body)
    if new is None:
        raise invalid(issues)

    async def _create(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        row = await create_channel(
            session,
            auth.org_id,
            name=new.name,
            channel_type=new.type,
            config=new.config,
            is_active=new.is_active,
            now=clock.now(),
        )
        return 201, {"data": channel_json(row)}

    return await run_create(request, auth, store, clock, _create)


async def _owned(session: AsyncSession, auth: AuthDep, channel_id: str) -> AlertChannel:
    channel = await get_channel(session, auth.org_id, channel_id)
    if channel is None:
        raise not_found("alert_channel")
    return channel


@router.get("/{channel_id}", response_model=Data[Channel])
async def get_one(channel_id: str, auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """One alert channel, secrets masked."""
    return {"data": channel_json(await _owned(session, auth, channel_id))}


@router.patch(
    "/{channel_id}",
    response_model=Data[Channel],
    openapi_extra=body(ChannelUpdate),
    dependencies=[require_role("ADMIN")],
)
async def update(
    channel_id: str, request: Request, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Rename, enable/disable, or replace the config (validated as on create)."""
    body = await read_object(request)
    channel = await _owned(session, auth, channel_id)
    values, issues = read_update(body, channel)
    if issues:
        raise invalid(issues)
    await update_channel(session, channel, values, now=clock.now())
    return {"data": channel_json(channel)}


@router.delete("/{channel_id}", response_model=Message, dependencies=[require_role("ADMIN")])
async def remove(
    channel_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Delete a channel; monitors that listed it stop alerting it."""
    channel = await _owned(session, auth, channel_id)
    await delete_channel(session, channel, now=clock.now())
    return {"message": "Alert channel deleted successfully"}


def sample_event(channel: AlertChannel, *, clock: Clock) -> AlertEvent:
    """A ``test`` event about a sample monitor, with a fresh id so receivers do not dedupe it."""
    return AlertEvent(
        id=new_id("evt"),
        type="test",
        monitor_id="mon_example",
        monitor_name="Example monitor",
        monitor_url="https://example.com/health",
        occurred_at=clock.now(),
        cause="This is a test notification sent from the Vigil API; no monitor is down.",
        details={"channelId": channel.id, "channelName": channel.name},
    )


@router.post(
    "/{channel_id}/test", response_model=Data[TestDelivery], dependencies=[require_role("ADMIN")]
)
async def send_test(
    channel_id: str, auth: AuthDep, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Send a test alert now. A failed delivery still answers 200, with ``ok`` false.

    The send happens outside any database transaction: a slow receiver must not
    hold a connection (or, on SQLite, a snapshot) for its whole timeout.
    """
    async with store.transaction() as session:
        channel = await _owned(session, auth, channel_id)
    spec = ChannelSpec(
        id=channel.id,
        name=channel.name,
        type=channel.type,
        config=channel.config,
        trusted=auth.org.trusted,
    )
    delivery = await deliver_via(
        spec, sample_event(channel, clock=clock), delivery_context(settings)
    )
    return {
        "data": {"ok": delivery.ok, "error": delivery.error, "statusCode": delivery.status_code}
    }
