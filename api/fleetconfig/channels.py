"""The ``alertChannels`` section: export with secrets as references, apply, prune.

A channel is found by its name. Its config is written as stored except the values
the API masks (a webhook's secret, a Slack URL, a PagerDuty key, an Apprise URL),
which become ``${VIGIL_CHANNEL_<NAME>_<KEY>}`` references.
"""

from __future__ import annotations

from typing import Any

from alerting.channels.registry import mask_config
from api.channel_input import read_create, read_update
from api.fleetconfig.references import Secrets, escape
from api.fleetconfig.run import Item, Run, by_name, same
from api.fleetconfig.values import escaped, sorted_keys
from store.channels import create_channel, delete_channel, list_channels, update_channel
from store.models import AlertChannel

SECTION = "alertChannels"
FIELDS = frozenset({"name", "type", "isActive", "config"})


def export(channels: list[AlertChannel], secrets: Secrets) -> list[dict[str, Any]]:
    """The channels as document items, by name."""
    return [_item(c, secrets) for c in sorted(channels, key=lambda c: (c.name, c.id))]


def _item(c: AlertChannel, secrets: Secrets) -> dict[str, Any]:
    shown = mask_config(c.type, c.config)
    config: dict[str, Any] = {}
    for key, value in sorted_keys(c.config).items():
        if shown.get(key) != value:
            where = f"{SECTION} {c.name!r} config.{key}"
            config[key] = secrets.refer(("channel", c.name, key), where=where)
        else:
            config[key] = escaped(value)
    item: dict[str, Any] = {"name": escape(c.name), "type": c.type}
    if not c.is_active:
        item["isActive"] = False
    item["config"] = config
    return item


def _items(run: Run) -> dict[str, Item] | None:
    return run.items(SECTION, key="name", label="alert channel", allowed=FIELDS, strip=True)


async def _stored(run: Run) -> dict[str, list[AlertChannel]]:
    return by_name(await list_channels(run.session, run.org.id), lambda c: c.name)


async def prune(run: Run) -> None:
    """Delete the channels a present section does not list (monitors stop naming them)."""
    items = _items(run)
    if items is None:
        return
    for name, rows in (await _stored(run)).items():
        if name not in items:
            for c in rows:
                await delete_channel(run.session, c, now=run.now)
                run.record("delete", SECTION, name, id=c.id)


async def apply(run: Run) -> None:
    """Create and update the channels the document lists; record the others as left."""
    items = _items(run)
    stored = await _stored(run)
    for name, item in (items or {}).items():
        rows = stored.get(name, [])
        if run.ambiguous(item, "name", [c.id for c in rows], "alert channel"):
            continue
        if rows:
            await _update(run, item, rows[0])
        else:
            await _create(run, item)
    run.record_left(SECTION, [(n, c.id) for n, rows in stored.items() for c in rows])


async def _create(run: Run, item: Item) -> None:
    new, issues = read_create(item.body)
    if new is None:
        run.fail_fields(item, issues)
        return
    row = await create_channel(
        run.session,
        run.org.id,
        name=new.name,
        channel_type=new.type,
        config=new.config,
        is_active=new.is_active,
        now=run.now,
    )
    run.record("create", SECTION, item.name, item=item, id=row.id)


async def _update(run: Run, item: Item, channel: AlertChannel) -> None:
    body = item.body
    for required in ("type", "config"):
        if body.get(required) is None:
            run.fail(item.at(required), "is required")
    if body.get("type") is None or body.get("config") is None:
        return
    desired = {
        "type": body["type"],
        "config": body["config"],
        "isActive": body.get("isActive", True),
    }
    current = {"type": channel.type, "config": channel.config, "isActive": channel.is_active}
    changed = [f for f in desired if not same(desired[f], current[f])]
    if not changed:
        run.record("unchanged", SECTION, item.name, item=item, id=channel.id)
        return
    values, issues = read_update({f: desired[f] for f in changed}, channel)
    if issues:
        run.fail_fields(item, issues)
        return
    await update_channel(run.session, channel, values, now=run.now)
    run.record("update", SECTION, item.name, item=item, fields=changed, id=channel.id)
