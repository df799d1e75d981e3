"""The Atlassian Statuspage v2 JSON format, so tools that read Statuspage read Vigil.

Field names and enums as Statuspage documents them: ``status.indicator`` none, minor,
major or critical; component ``status`` operational, degraded_performance,
partial_outage, major_outage or under_maintenance; incident ``status``
investigating, identified, monitoring, resolved (or postmortem); maintenance
``status`` scheduled, in_progress or completed.
"""

from __future__ import annotations

from typing import Any

from pages.public_json import iso
from pages.view import OVERALL_TEXT, IncidentView, MaintenanceView, PageView

DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
)
INDICATOR = {
    "operational": "none",
    "degraded": "minor",
    "maintenance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
COMPONENT_STATUS = {
    "operational": "operational",
    "degraded": "degraded_performance",
    "partial_outage": "partial_outage",
    "major_outage": "major_outage",
    "maintenance": "under_maintenance",
}


def page_json(view: PageView, *, url: str) -> dict[str, Any]:
    return {
        "id": view.page.id,
        "name": view.page.name,
        "url": url,
        "time_zone": "Etc/UTC",
        "updated_at": iso(view.generated_at),
    }


def status_json(view: PageView) -> dict[str, Any]:
    return {"indicator": INDICATOR[view.status], "description": OVERALL_TEXT[view.status]}


def _group_id(view: PageView, group: str) -> str:
    return f"{view.page.id}-group-{[g for g, _ in view.groups].index(group)}"


def components_json(view: PageView) -> list[dict[str, Any]]:
    """Components, then one entry per group (``group: true``) listing its members."""
    out: list[dict[str, Any]] = []
    for position, c in enumerate(view.components, start=1):
        out.append(
            {
                "id": c.id,
                "name": c.name,
                "status": COMPONENT_STATUS[c.status],
                "created_at": iso(c.created_at),
                "updated_at": iso(view.generated_at),
                "position": position,
                "description": None,
                "showcase": True,
                "start_date": c.created_at.date().isoformat(),
                "group_id": _group_id(view, c.group) if c.group else None,
                "page_id": view.page.id,
                "group": False,
                "only_show_if_degraded": False,
            }
        )
    for position, (group, members) in enumerate(view.groups, start=len(out) + 1):
        if group is None:
            continue
        worst = min(members, key=lambda m: _rank(m.status))
        out.append(
            {
                "id": _group_id(view, group),
                "name": group,
                "status": COMPONENT_STATUS[worst.status],
                "created_at": iso(min(m.created_at for m in members)),
                "updated_at": iso(view.generated_at),
                "position": position,
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": view.page.id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [m.id for m in members],
            }
        )
    return out


def _rank(status: str) -> int:
    return ["major_outage", "partial_outage", "degraded", "maintenance", "operational"].index(
        status
    )


def _affected(view: PageView, monitor_id: str | None) -> list[dict[str, Any]]:
    """The components of ``monitor_id`` (None: every component), by monitor, not by
    name: two components may share a name."""
    # components_json lists the components first, in view.components' order.
    return [
        c
        for c, shown in zip(components_json(view), view.components, strict=False)
        if monitor_id is None or shown.monitor_id == monitor_id
    ]


def incident_json(view: PageView, i: IncidentView, *, url: str) -> dict[str, Any]:
    updates = [
        {
            "id": u.id,
            "status": u.status,
            "body": u.body,
            "incident_id": i.id,
            "created_at": iso(u.created_at),
            "updated_at": iso(u.created_at),
            "display_at": iso(u.created_at),
            "affected_components": None,
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        }
        for u in reversed(i.updates)
    ]
    last = max([i.started_at, *(u.created_at for u in i.updates)])
    monitoring = next((u.created_at for u in i.updates if u.status == "monitoring"), None)
    return {
        "id": i.id,
        "name": i.title,
        "status": i.status,
        "created_at": iso(i.started_at),
        "updated_at": iso(max(last, i.resolved_at) if i.resolved_at else last),
        "monitoring_at": iso(monitoring),
        "resolved_at": iso(i.resolved_at),
        "impact": "maintenance" if i.in_maintenance else "major",
        "shortlink": f"{url}#inc-{i.id}",
        "started_at": iso(i.started_at),
        "page_id": view.page.id,
        "incident_updates": updates,
        "components": _affected(view, i.monitor_id),
    }


def maintenance_json(view: PageView, w: MaintenanceView, *, url: str) -> dict[str, Any]:
    status = (
        "completed"
        if w.ends_at <= view.generated_at
        else ("in_progress" if w.in_progress else "scheduled")
    )
    return {
        "id": w.id,
        "name": w.title,
        "status": status,
        "created_at": iso(w.created_at),
        "updated_at": iso(w.created_at),
        "monitoring_at": None,
        "resolved_at": iso(w.ends_at) if status == "completed" else None,
        "impact": "maintenance",
        "shortlink": f"{url}#mnt-{w.id}",
        "started_at": iso(w.starts_at),
        "page_id": view.page.id,
        "incident_updates": [],
        "components": _affected(view, w.monitor_id),
        "scheduled_for": iso(w.starts_at),
        "scheduled_until": iso(w.ends_at),
    }


def document(view: PageView, name: str, *, url: str) -> dict[str, Any] | None:
    """The body of ``/api/v2/<name>``; None for a name Statuspage does not have."""
    doc: dict[str, Any] = {"page": page_json(view, url=url)}
    unresolved = [incident_json(view, i, url=url) for i in view.active_incidents]
    maintenance = [maintenance_json(view, w, url=url) for w in view.maintenance]
    if name == "summary.json":
        doc.update(
            components=components_json(view),
            incidents=unresolved,
            scheduled_maintenances=maintenance,
            status=status_json(view),
        )
    elif name == "status.json":
        doc["status"] = status_json(view)
    elif name == "components.json":
        doc["components"] = components_json(view)
    elif name == "incidents.json":
        recent = sorted(
            [*view.active_incidents, *view.resolved_incidents],
            key=lambda i: i.started_at,
            reverse=True,
        )
        doc["incidents"] = [incident_json(view, i, url=url) for i in recent[:50]]
    elif name == "incidents/unresolved.json":
        doc["incidents"] = unresolved
    elif name == "scheduled-maintenances.json":
        doc["scheduled_maintenances"] = maintenance
    else:
        return None
    return doc
