"""The reference's public status page shape, from a ``PageView``."""

from __future__ import annotations

from typing import Any

from pages.view import IncidentView, MaintenanceView, PageView
from store.clock import iso_ms

iso = iso_ms


def incident_json(i: IncidentView) -> dict[str, Any]:
    return {
        "id": i.id,
        "title": i.title,
        "status": i.status,
        "components": list(i.components),
        "cause": i.cause,
        "startedAt": iso(i.started_at),
        "resolvedAt": iso(i.resolved_at),
        "updates": [
            {"id": u.id, "status": u.status, "body": u.body, "createdAt": iso(u.created_at)}
            for u in i.updates
        ],
    }


def maintenance_json(w: MaintenanceView) -> dict[str, Any]:
    return {
        "id": w.id,
        "title": w.title,
        "description": w.description,
        "startsAt": iso(w.starts_at),
        "endsAt": iso(w.ends_at),
        "inProgress": w.in_progress,
        "components": list(w.components),
    }


def public_json(view: PageView) -> dict[str, Any]:
    """``GET /api/status-pages/:slug``: the reference's fields, then Vigil's."""
    page = view.page
    return {
        "name": page.name,
        "slug": page.slug,
        "logoUrl": page.logo_url,
        "overallStatus": view.status,
        "components": [
            {
                "name": c.name,
                "status": c.status,
                "uptime90d": c.uptime90d,
                "id": c.id,
                "group": c.group,
            }
            for c in view.components
        ],
        "activeIncidents": [incident_json(i) for i in view.active_incidents],
        "description": page.description,
        "maintenance": [maintenance_json(w) for w in view.maintenance],
        "notices": [
            {"id": n.id, "title": n.title, "body": n.body, "severity": n.severity}
            for n in view.notices
        ],
        "updatedAt": iso(view.generated_at),
    }
