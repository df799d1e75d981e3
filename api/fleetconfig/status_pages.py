"""The ``statusPages`` section: pages found by their name; components name monitors.

Validated by the API's rules (``api.status_page_input``): a create as ``POST
/api/status-pages`` (with ``components``), an update as ``PUT`` with the fields
that differ; branding needs its plan, slugs and custom domains stay unique across
the deployment, and a new custom domain must be verified again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.errors import ApiError, FieldIssue
from api.fleetconfig.run import Item, Run, by_name, same
from api.fleetconfig.values import escaped
from api.removal import remove_status_page
from api.status_page_input import (
    PageInput,
    check_plan,
    read_components,
    read_fields,
    reverify_domain,
    uniqueness_error,
)
from store.models import Monitor
from store.monitors import list_monitors
from store.status_page_models import StatusPage
from store.status_pages import (
    Component,
    ComponentSpec,
    components_of,
    create_page,
    list_pages,
    update_page,
)

SECTION = "statusPages"
# Field -> column, in the order an export writes them; components come last.
COLUMNS = {
    "name": "name",
    "slug": "slug",
    "description": "description",
    "isPublic": "is_public",
    "customDomain": "custom_domain",
    "logoUrl": "logo_url",
    "faviconUrl": "favicon_url",
    "hideBranding": "hide_branding",
    "customCss": "custom_css",
}
DEFAULTS: Mapping[str, Any] = {
    "description": None,
    "isPublic": True,
    "customDomain": None,
    "logoUrl": None,
    "faviconUrl": None,
    "hideBranding": False,
    "customCss": None,
}
FIELDS = frozenset({*COLUMNS, "components"})
COMPONENT_FIELDS = frozenset({"monitor", "displayName", "group", "regions"})


def export(pages: list[StatusPage], components: Mapping[str, list[Component]]) -> list[Any]:
    """The pages as document items, by name."""
    ordered = sorted(pages, key=lambda p: (p.name, p.id))
    return [_item(p, components.get(p.id, [])) for p in ordered]


def _item(page: StatusPage, components: list[Component]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, column in COLUMNS.items():
        value = getattr(page, column)
        if name not in DEFAULTS or not same(value, DEFAULTS[name]):
            item[name] = escaped(value)
    listed = []
    for c, m in components:
        entry: dict[str, Any] = {"monitor": escaped(m.name)}
        if c.display_name != m.name:
            entry["displayName"] = escaped(c.display_name)
        if c.group_name is not None:
            entry["group"] = escaped(c.group_name)
        if c.regions is not None:
            entry["regions"] = list(c.regions)
        listed.append(entry)
    if listed:
        item["components"] = listed
    return item


def _items(run: Run) -> dict[str, Item] | None:
    return run.items(SECTION, key="name", label="status page", allowed=FIELDS, strip=True)


async def _stored(run: Run) -> dict[str, list[StatusPage]]:
    return by_name(await list_pages(run.session, run.org.id), lambda p: p.name)


async def prune(run: Run) -> None:
    """Delete the pages a present section does not list (with their subscribers)."""
    items = _items(run)
    if items is None:
        return
    for name, rows in (await _stored(run)).items():
        if name not in items:
            for page in rows:
                await remove_status_page(run.session, page)
                run.record("delete", SECTION, name, id=page.id)


async def apply(run: Run) -> None:
    """Create and update the pages the document lists; record the others as left."""
    items = _items(run)
    stored = await _stored(run)
    if items:
        monitors = by_name(
            await list_monitors(run.session, run.org.id, offset=0, limit=None), lambda m: m.name
        )
        for name, item in items.items():
            rows = stored.get(name, [])
            if run.ambiguous(item, "name", [p.id for p in rows], "status page"):
                continue
            body = _api_body(run, item, monitors)
            if body is None:
                continue
            if rows:
                await _update(run, item, body, rows[0])
            else:
                await _create(run, item, body)
    run.record_left(SECTION, [(n, p.id) for n, rows in stored.items() for p in rows])


def _api_body(run: Run, item: Item, monitors: Mapping[str, list[Monitor]]) -> dict[str, Any] | None:
    """The API's body for the item: each component's ``monitor`` (a name) becomes an id."""
    body = {k: v for k, v in item.body.items() if k != "components"}
    entries = item.body.get("components") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        run.fail(item.at("components"), "must be a list of components, each with a monitor")
        return None
    ok, components = True, []
    for n, entry in enumerate(entries):
        at = item.at(f"components[{n}]")
        for extra in sorted(set(entry) - COMPONENT_FIELDS):
            run.fail(f"{at}.{extra}", "is not a component field")
            ok = False
        name = entry.get("monitor")
        found = monitors.get(name, []) if isinstance(name, str) else []
        if len(found) != 1:
            ok = False
            if not isinstance(name, str):
                run.fail(f"{at}.monitor", "is required: the name of a monitor")
            elif found:
                run.fail(f"{at}.monitor", f"names {len(found)} monitors called {name!r}")
            elif name not in run.listed("monitors"):  # a listed monitor that failed is reported
                run.fail(f"{at}.monitor", f"names no monitor {name!r}: add it to monitors first")
            continue
        rest = {k: v for k, v in entry.items() if k in COMPONENT_FIELDS - {"monitor"}}
        components.append({"monitorId": found[0].id, **rest})
    body["components"] = components
    return body if ok else None


async def _checked(
    run: Run, item: Item, body: dict[str, Any], page: StatusPage | None
) -> tuple[PageInput, list[ComponentSpec] | None] | None:
    """The columns and components of a create (``page`` None) or update; None if refused."""
    parsed, issues = read_fields(body, creating=page is None)
    specs = await read_components(run.session, run.org.id, body, issues)
    if issues:
        run.fail_fields(item, issues)
        return None
    try:
        check_plan(parsed.values, run.org.plan)
        taken = await uniqueness_error(
            run.session, parsed.values, except_id=page.id if page else None
        )
        if taken is not None:
            raise taken
    except ApiError as err:
        run.fail_error(item, err)
        return None
    return parsed, specs


async def _create(run: Run, item: Item, body: dict[str, Any]) -> None:
    checked = await _checked(run, item, body, None)
    if checked is None:
        return
    parsed, specs = checked
    page = await create_page(run.session, run.org.id, parsed.values, specs or [], now=run.now)
    run.record("create", SECTION, item.name, item=item, id=page.id)


async def _update(run: Run, item: Item, body: dict[str, Any], page: StatusPage) -> None:
    if body.get("slug") is None:
        run.fail(item.at("slug"), "is required")
        return
    full = {**DEFAULTS, **body}
    normal, _ = read_fields({k: v for k, v in full.items() if k != "components"}, creating=False)
    scratch: list[FieldIssue] = []
    wanted = await read_components(run.session, run.org.id, full, scratch)
    changed = [
        name
        for name, column in COLUMNS.items()
        if name != "name"
        and (column not in normal.values or not same(normal.values[column], getattr(page, column)))
    ]
    stored = (await components_of(run.session, [page.id]))[page.id]
    if scratch or wanted != [_spec(c) for c, _ in stored]:
        changed.append("components")
    if not changed:
        run.record("unchanged", SECTION, item.name, item=item, id=page.id)
        return
    checked = await _checked(run, item, {f: full[f] for f in changed}, page)
    if checked is None:
        return
    parsed, specs = checked
    reverify_domain(page, parsed.values)
    await update_page(run.session, page, parsed.values, specs, now=run.now)
    run.record("update", SECTION, item.name, item=item, fields=changed, id=page.id)


def _spec(c: Any) -> ComponentSpec:
    regions = tuple(c.regions) if c.regions is not None else None
    return ComponentSpec(c.monitor_id, c.display_name, c.group_name, regions)
