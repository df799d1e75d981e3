"""The ``maintenance`` section: windows found by their title; ``monitor`` names a monitor.

Validated by the API's rules (``api.maintenance_input``): a create as ``POST
/api/maintenance``, an update as ``PATCH`` with the fields that differ. A window
without ``monitor`` covers the whole organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.fleetconfig.run import Item, Run, by_name, same
from api.fleetconfig.values import escaped, time_text
from api.maintenance_input import read_create, read_update
from api.pagination import time_issue
from store.maintenance import create_window, delete_window, list_windows, update_window
from store.models import MaintenanceWindow, Monitor
from store.monitors import list_monitors

SECTION = "maintenance"
FIELDS = frozenset({"title", "description", "monitor", "startsAt", "endsAt", "isActive"})
# The API's field names where the document's differ.
RENAME = {"monitorId": "monitor"}

Window = tuple[MaintenanceWindow, Monitor | None]


def export(windows: list[Window]) -> list[dict[str, Any]]:
    """The windows as document items, by title."""
    return [_item(w, m) for w, m in sorted(windows, key=lambda wm: (wm[0].title, wm[0].id))]


def _item(w: MaintenanceWindow, m: Monitor | None) -> dict[str, Any]:
    item: dict[str, Any] = {"title": escaped(w.title)}
    if w.description is not None:
        item["description"] = escaped(w.description)
    if m is not None:
        item["monitor"] = escaped(m.name)
    item["startsAt"] = time_text(w.starts_at)
    item["endsAt"] = time_text(w.ends_at)
    if not w.is_active:
        item["isActive"] = False
    return item


def _items(run: Run) -> dict[str, Item] | None:
    return run.items(SECTION, key="title", label="maintenance window", allowed=FIELDS, strip=True)


async def _stored(run: Run) -> dict[str, list[Window]]:
    rows = await list_windows(run.session, run.org.id, which=None, now=run.now)
    return by_name(rows, lambda wm: wm[0].title)


async def prune(run: Run) -> None:
    """Delete the windows a present section does not list."""
    items = _items(run)
    if items is None:
        return
    for title, rows in (await _stored(run)).items():
        if title not in items:
            for w, _ in rows:
                await delete_window(run.session, w)
                run.record("delete", SECTION, title, id=w.id)


async def apply(run: Run) -> None:
    """Create and update the windows the document lists; record the others as left."""
    items = _items(run)
    stored = await _stored(run)
    if items:
        monitors = by_name(
            await list_monitors(run.session, run.org.id, offset=0, limit=None), lambda m: m.name
        )
        for title, item in items.items():
            rows = stored.get(title, [])
            if run.ambiguous(item, "title", [w.id for w, _ in rows], "maintenance window"):
                continue
            body = _with_monitor_id(run, item, monitors)
            if body is None:
                continue
            if rows:
                await _update(run, item, body, rows[0])
            else:
                await _create(run, item, body)
    run.record_left(SECTION, [(t, w.id) for t, rows in stored.items() for w, _ in rows])


def _with_monitor_id(
    run: Run, item: Item, monitors: Mapping[str, list[Monitor]]
) -> dict[str, Any] | None:
    """The API's body for the item: ``monitor`` (a name) becomes ``monitorId``."""
    body = {k: v for k, v in item.body.items() if k != "monitor"}
    name = item.body.get("monitor")
    if name is None:
        return body
    if not isinstance(name, str):
        run.fail(item.at("monitor"), "must be the name of a monitor, or left out (org-wide)")
        return None
    found = monitors.get(name, [])
    if len(found) == 1:
        body["monitorId"] = found[0].id
        return body
    if found:
        run.fail(item.at("monitor"), f"names {len(found)} monitors called {name!r}")
    elif name not in run.listed("monitors"):  # a listed monitor that failed is reported
        run.fail(item.at("monitor"), f"names no monitor {name!r}: add it to monitors first")
    return None


async def _create(run: Run, item: Item, body: dict[str, Any]) -> None:
    values, _, issues = await read_create(run.session, run.org.id, body)
    if issues:
        run.fail_fields(item, issues, RENAME)
        return
    window = await create_window(run.session, run.org.id, values, now=run.now)
    run.record("create", SECTION, item.name, item=item, id=window.id)


def _time(value: Any) -> Any:
    parsed, _ = time_issue(value)
    return parsed if parsed is not None else value


async def _update(run: Run, item: Item, body: dict[str, Any], stored: Window) -> None:
    window, monitor = stored
    description = body.get("description")
    # The title is the name it was found by: it cannot differ.
    wanted = {
        "description": description or None if isinstance(description, str) else description,
        "monitorId": body.get("monitorId"),
        "startsAt": _time(body.get("startsAt")),
        "endsAt": _time(body.get("endsAt")),
        "isActive": body.get("isActive", True),
    }
    current = {
        "description": window.description,
        "monitorId": window.monitor_id,
        "startsAt": window.starts_at,
        "endsAt": window.ends_at,
        "isActive": window.is_active,
    }
    changed = [f for f in wanted if not same(wanted[f], current[f])]
    if not changed:
        run.record("unchanged", SECTION, item.name, item=item, id=window.id)
        return
    patch = {f: body.get(f) if f != "isActive" else wanted[f] for f in changed}
    values, _, issues = await read_update(run.session, run.org.id, window, monitor, patch)
    if issues:
        run.fail_fields(item, issues, RENAME)
        return
    await update_window(run.session, window, values)
    fields = [RENAME.get(f, f) for f in changed]
    run.record("update", SECTION, item.name, item=item, fields=fields, id=window.id)
