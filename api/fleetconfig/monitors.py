"""The ``monitors`` section: export, apply and prune, through the API's monitor rules.

A monitor is found by its name; ``alertChannels`` names channels (the API takes
ids). A create is validated as ``POST /api/monitors`` validates it (plan minimum
interval, regions, the type's config, the BROWSER plan gate, the plan's monitor
count); an update as ``PUT`` with the fields that differ, so a value kept from a
larger plan is not refused while the file leaves it as it is. A field the file
leaves out takes the value a new monitor would get. URLs with credentials and
header values (which the API masks) are exported as references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerting.redact import mask_url
from api.fleetconfig.references import Secrets, escape
from api.fleetconfig.run import Item, Run, by_name, same
from api.fleetconfig.values import escaped
from api.monitor_input import (
    COLUMNS,
    NO_URL_TYPES,
    UNSET_DEFAULTS,
    Context,
    create_defaults,
    finish_update,
    limit_refusal,
    plan_refusal,
    validate,
    whole,
    with_create_defaults,
)
from api.removal import remove_monitor
from api.serialize import monitor_json
from checks.target_policy import Network, TargetPolicy
from store.channels import list_channels
from store.models import AlertChannel, Monitor, Organization
from store.monitors import (
    channel_ids,
    count_monitors,
    create_monitor,
    list_monitors,
    update_monitor,
)

SECTION = "monitors"
FIELDS = frozenset(COLUMNS)
# Exported whatever their value: what a monitor does, and what differs between plans.
_ALWAYS = ("name", "type", "url", "interval", "timeout", "regions")


def context(
    org: Organization,
    regions: tuple[str, ...],
    channels: frozenset[str],
    allowed: tuple[Network, ...] = (),
) -> Context:
    policy = TargetPolicy(trusted=org.trusted, allowed=allowed)
    return Context(plan=org.plan, known_regions=regions, channel_ids=channels, policy=policy)


def desired(body: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Every field of the monitor the file describes (API names): given, else the default."""
    out: dict[str, Any] = {**UNSET_DEFAULTS, **create_defaults(ctx, body.get("type"))}
    out.update({k: whole(k, v) for k, v in body.items()})
    interval, timeout = out.get("interval"), out.get("timeout")
    if "timeout" not in body and isinstance(interval, int) and isinstance(timeout, int):
        out["timeout"] = min(timeout, interval)  # as with_create_defaults clamps it
    if out.get("url") is None and out.get("type") in NO_URL_TYPES:
        out["url"] = ""
    return out


def export(
    monitors: list[Monitor], channels: list[AlertChannel], ctx: Context, secrets: Secrets
) -> list[dict[str, Any]]:
    """The monitors as document items, by name."""
    names = {c.id: c.name for c in channels}
    return [_item(m, names, ctx, secrets) for m in sorted(monitors, key=lambda m: (m.name, m.id))]


def _item(
    m: Monitor, channel_names: Mapping[str, str], ctx: Context, secrets: Secrets
) -> dict[str, Any]:
    fields = monitor_json(m, base_url="", masked=False)
    defaults = desired({"type": m.type, "interval": m.interval_s}, ctx)
    item: dict[str, Any] = {}
    for name in (*_ALWAYS, *(c for c in COLUMNS if c not in _ALWAYS)):
        value = fields[name]
        if name in _ALWAYS or not same(value, defaults[name]):
            item[name] = escaped(value)
    where = f"{SECTION} {m.name!r}"
    if m.url and mask_url(m.url) != m.url:
        item["url"] = secrets.refer(("monitor", m.name, "url"), where=f"{where} url")
    elif not m.url:
        item.pop("url", None)
    headers = m.config.get("headers")
    if isinstance(headers, dict) and headers:
        item["config"]["headers"] = {
            header: secrets.refer(
                ("monitor", m.name, "header", header), where=f"{where} config.headers.{header}"
            )
            if isinstance(value, str)
            else value
            for header, value in sorted(headers.items())
        }
    if m.alert_channels is not None:
        item["alertChannels"] = [
            escape(channel_names[c]) for c in m.alert_channels if c in channel_names
        ]
    return item


def _items(run: Run) -> dict[str, Item] | None:
    return run.items(SECTION, key="name", label="monitor", allowed=FIELDS, strip=False)


async def _stored(run: Run) -> dict[str, list[Monitor]]:
    rows = await list_monitors(run.session, run.org.id, offset=0, limit=None)
    return by_name(rows, lambda m: m.name)


async def prune(run: Run) -> None:
    """Delete the monitors a present section does not list (their incidents close first)."""
    items = _items(run)
    if items is None:
        return
    for name, rows in (await _stored(run)).items():
        if name not in items:
            for m in rows:
                await remove_monitor(run.session, m, now=run.now)
                run.record("delete", SECTION, name, id=m.id)


async def apply(run: Run) -> None:
    """Create and update the monitors the document lists; record the others as left."""
    items = _items(run)
    stored = await _stored(run)
    if items:
        channels = by_name(await list_channels(run.session, run.org.id), lambda c: c.name)
        ctx = context(run.org, run.regions, await channel_ids(run.session, run.org.id), run.allowed)
        for name, item in items.items():
            rows = stored.get(name, [])
            if run.ambiguous(item, "name", [m.id for m in rows], "monitor"):
                continue
            body = _with_channel_ids(run, item, channels)
            if body is None:
                continue
            if rows:
                await _update(run, item, body, rows[0], ctx)
            else:
                await _create(run, item, body, ctx)
    run.record_left(SECTION, [(n, m.id) for n, rows in stored.items() for m in rows])


def _with_channel_ids(
    run: Run, item: Item, channels: Mapping[str, list[AlertChannel]]
) -> dict[str, Any] | None:
    """The item with ``alertChannels`` names replaced by ids; None when one cannot be."""
    body = dict(item.body)
    names = body.get("alertChannels")
    if names is None:
        return body
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        run.fail(item.at("alertChannels"), "must be a list of alert channel names")
        return None
    listed = run.listed("alertChannels")
    ids: list[str] = []
    ok = True
    for n, name in enumerate(names):
        found = channels.get(name.strip(), [])
        if len(found) == 1:
            ids.append(found[0].id)
            continue
        ok = False
        if found:
            run.fail(
                item.at(f"alertChannels[{n}]"),
                f"names {len(found)} alert channels called {name!r}; rename all but one",
            )
        elif name.strip() not in listed:  # a listed channel that failed is reported already
            run.fail(
                item.at(f"alertChannels[{n}]"),
                f"names no alert channel {name!r}: add it to alertChannels or create it first",
            )
    body["alertChannels"] = ids
    return body if ok else None


async def _create(run: Run, item: Item, body: dict[str, Any], ctx: Context) -> None:
    values, issues = validate(body, ctx=ctx)
    if issues:
        run.fail_fields(item, issues)
        return
    if (refusal := plan_refusal(run.org.plan, values.get("type"))) is not None:
        run.fail(item.at("type"), refusal)
        return
    count = await count_monitors(run.session, run.org.id)
    if (refusal := limit_refusal(run.org.plan, count)) is not None:
        run.fail(item.path, refusal)
        return
    monitor = await create_monitor(
        run.session, run.org.id, with_create_defaults(values, ctx), now=run.now
    )
    run.record("create", SECTION, item.name, item=item, id=monitor.id)


async def _update(
    run: Run, item: Item, body: dict[str, Any], monitor: Monitor, ctx: Context
) -> None:
    current = monitor_json(monitor, base_url="", masked=False)
    wanted = desired(body, ctx)
    changed = [f for f in COLUMNS if not same(wanted[f], current[f])]
    if not changed:
        run.record("unchanged", SECTION, item.name, item=item, id=monitor.id)
        return
    values, issues = validate({f: wanted[f] for f in changed}, ctx=ctx, current=current)
    if issues:
        run.fail_fields(item, issues)
        return
    if "type" in values and (refusal := plan_refusal(run.org.plan, values["type"])):
        run.fail(item.at("type"), refusal)
        return
    if issues := finish_update(values, monitor.type):
        run.fail_fields(item, issues)
        return
    await update_monitor(run.session, monitor, values, now=run.now)
    run.record("update", SECTION, item.name, item=item, fields=changed, id=monitor.id)
