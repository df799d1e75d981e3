"""Statuspage v2 JSON, the Atom feed, badges, ETag and Cache-Control, the start page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.pages import scenario

# Statuspage's documented fields (developer.statuspage.io, "Status API").
PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
STATUS_FIELDS = {"indicator", "description"}
COMPONENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_FIELDS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
MAINTENANCE_FIELDS = INCIDENT_FIELDS | {"scheduled_for", "scheduled_until"}
INDICATORS = {"none", "minor", "major", "critical"}
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}


@pytest.fixture
async def web(
    store: Store, clock: FrozenClock, page_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(page_settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as c:
        yield c


@pytest.fixture
async def built(web: httpx.AsyncClient, store: Store, clock: FrozenClock) -> scenario.Scenario:
    return await scenario.build(web, store, clock)


async def _doc(web: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await web.get(f"/status/acme/api/v2/{name}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body["page"]) == PAGE_FIELDS
    return body


def _check_incident(incident: dict[str, Any], *, maintenance: bool = False) -> None:
    assert set(incident) == (MAINTENANCE_FIELDS if maintenance else INCIDENT_FIELDS)
    statuses = MAINTENANCE_STATUSES if maintenance else INCIDENT_STATUSES
    assert incident["status"] in statuses
    assert incident["impact"] in {"none", "minor", "major", "critical", "maintenance"}
    for update in incident["incident_updates"]:
        assert set(update) == UPDATE_FIELDS
        assert update["status"] in INCIDENT_STATUSES
    for component in incident["components"]:
        assert set(component) == COMPONENT_FIELDS


async def test_summary_has_statuspage_fields_and_enums(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    summary = await _doc(web, "summary.json")

    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert summary["page"]["name"] == "Acme"
    assert summary["page"]["url"] == "http://127.0.0.1:8080/status/acme"
    assert summary["status"] == {"indicator": "major", "description": "Partial outage"}
    members = [c for c in summary["components"] if not c["group"]]
    groups = [c for c in summary["components"] if c["group"]]
    for component in members:
        assert set(component) == COMPONENT_FIELDS
    assert [(c["name"], c["status"]) for c in members] == [
        ("API", "under_maintenance"),
        ("Website", "major_outage"),
    ]
    assert [(g["name"], g["components"]) for g in groups] == [
        ("Backend", [members[0]["id"]]),
        ("Frontend", [members[1]["id"]]),
    ]
    assert members[0]["group_id"] == groups[0]["id"]
    [incident] = summary["incidents"]
    _check_incident(incident)
    assert (incident["id"], incident["status"], incident["resolved_at"]) == (
        built.active,
        "investigating",
        None,
    )
    assert [c["name"] for c in incident["components"]] == ["Website"]
    for window in summary["scheduled_maintenances"]:
        _check_incident(window, maintenance=True)
    assert [(w["id"], w["status"]) for w in summary["scheduled_maintenances"]] == [
        (built.maintenance, "in_progress"),
        (built.upcoming, "scheduled"),
    ]
    assert summary["scheduled_maintenances"][0]["scheduled_for"] == "2026-03-01T11:00:00.000Z"


async def test_the_other_documents_are_parts_of_the_summary(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    summary = await _doc(web, "summary.json")

    status = await _doc(web, "status.json")
    components = await _doc(web, "components.json")
    unresolved = await _doc(web, "incidents/unresolved.json")
    maintenances = await _doc(web, "scheduled-maintenances.json")
    incidents = await _doc(web, "incidents.json")

    assert set(status) == {"page", "status"} and status["status"] == summary["status"]
    assert status["status"]["indicator"] in INDICATORS
    assert components["components"] == summary["components"]
    assert {c["status"] for c in components["components"]} <= COMPONENT_STATUSES
    assert unresolved["incidents"] == summary["incidents"]
    assert maintenances["scheduled_maintenances"] == summary["scheduled_maintenances"]
    # Every incident, newest first; the resolved one lists its updates newest first.
    assert [i["id"] for i in incidents["incidents"]] == [built.active, built.outage]
    resolved = incidents["incidents"][1]
    _check_incident(resolved)
    assert resolved["resolved_at"] == "2026-02-28T10:45:00.000Z"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]


async def test_unknown_documents_and_pages_are_404(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    assert (await web.get("/status/acme/api/v2/nope.json")).status_code == 404
    assert (await web.get("/status/nope/api/v2/summary.json")).status_code == 404
    assert (await web.get("/status/nope")).status_code == 404


async def test_documents_carry_an_etag_and_a_short_cache_control(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    api = (await _doc(web, "components.json"))["components"][0]["id"]
    paths = [
        "/status/acme",
        "/status/acme/api/v2/summary.json",
        "/status/acme/feed.atom",
        f"/status/acme/badges/{api}/status.svg",
        f"/status/acme/badges/{api}/uptime-7d.json",
    ]
    for path in paths:
        first = await web.get(path)
        etag = first.headers["etag"]

        again = await web.get(path, headers={"If-None-Match": etag})
        other = await web.get(path, headers={"If-None-Match": '"something-else"'})

        assert first.headers["cache-control"] == "public, max-age=30", path
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == etag
        assert other.status_code == 200


async def test_a_big_document_is_sent_gzipped_to_whoever_takes_gzip(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    plain = await web.get("/status/acme", headers={"Accept-Encoding": "identity"})
    packed = await web.get("/status/acme", headers={"Accept-Encoding": "br, gzip;q=0.5"})
    refused = await web.get("/status/acme", headers={"Accept-Encoding": "gzip;q=0, *"})
    badge = await web.get("/status/acme/api/v2/status.json")  # small: as it is

    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.content == plain.content  # httpx decodes it
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["etag"] != plain.headers["etag"]
    assert "content-encoding" not in refused.headers
    assert "content-encoding" not in badge.headers and "vary" not in badge.headers
    again = await web.get(
        "/status/acme",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
    )
    assert again.status_code == 304


async def test_a_change_in_the_store_changes_the_etag(
    web: httpx.AsyncClient, built: scenario.Scenario, clock: FrozenClock
) -> None:
    before = (await web.get("/status/acme/api/v2/status.json")).headers["etag"]
    clock.advance(60)

    after = (await web.get("/status/acme/api/v2/status.json")).headers["etag"]

    assert before != after


async def test_atom_feed_lists_incidents_and_maintenance(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    response = await web.get("/status/acme/feed.atom")

    assert response.headers["content-type"] == "application/atom+xml"
    atom = "{http://www.w3.org/2005/Atom}"
    root = ET.fromstring(response.content)
    titles = [e.findtext(f"{atom}title") for e in root.iter(f"{atom}entry")]
    assert titles == [
        "[investigating] Website: Connection timeout",
        "[maintenance] Network work",
        "[maintenance] Database upgrade",
        "[resolved] API: HTTP 503",
    ]
    resolved = list(root.iter(f"{atom}entry"))[-1]
    assert "Resolved (2026-02-28 10:45 UTC): Rolled back; all good." in (
        resolved.findtext(f"{atom}content") or ""
    )


async def test_atom_feed_and_badges_of_names_with_control_characters_are_xml(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    """Found by schemathesis: a page named with a control character had no feed (a 503
    saying the store was down), and its badges were SVG that no XML parser reads."""
    headers = built.tenant.headers
    renamed = await web.put(
        "/api/status-pages/acme",
        headers=headers,
        json={
            "name": "Acme\x01 status",
            "components": [{"monitorId": built.api, "displayName": "API\x1b"}],
        },
    )
    await web.post(
        f"/api/incidents/{built.outage}/updates",
        headers=headers,
        json={"status": "resolved", "body": "Fixed\x0b for good."},
    )
    component = (await web.get("/api/status-pages/acme")).json()["data"]["components"][0]

    feed = await web.get("/status/acme/feed.atom")
    badge = await web.get(f"/status/acme/badges/{component['id']}/status.svg")

    assert renamed.status_code == 200, renamed.text
    assert feed.status_code == 200, feed.text
    atom = "{http://www.w3.org/2005/Atom}"
    root = ET.fromstring(feed.content)
    assert root.findtext(f"{atom}title") == "Acme\ufffd status status"
    contents = [e.findtext(f"{atom}content") or "" for e in root.iter(f"{atom}entry")]
    assert any("Fixed\ufffd for good." in c for c in contents)
    assert badge.status_code == 200
    svg = ET.fromstring(badge.content)
    assert svg.findtext("{http://www.w3.org/2000/svg}title") == "API\ufffd: maintenance"


@pytest.mark.parametrize(
    ("kind", "component", "label", "message"),
    [
        pytest.param("status", 0, "API", "maintenance", id="status-maintenance"),
        pytest.param("status", 1, "Website", "down", id="status-down"),
        # 45 min down in the 10 days since the API was created: 1 - 2700 / 864000.
        pytest.param("uptime-90d", 0, "uptime 90d", "99.68%", id="uptime-90d"),
        pytest.param("uptime-30d", 0, "uptime 30d", "99.68%", id="uptime-30d"),
        # The last 7 days: 2700 s of 604800.
        pytest.param("uptime-7d", 0, "uptime 7d", "99.55%", id="uptime-7d"),
        # The outage ended 25 h 15 min ago: none of it in the last 24 h.
        pytest.param("uptime-24h", 0, "uptime 24h", "100.00%", id="uptime-24h"),
        # 30 minutes of the last 24 h: 1 - 1800 / 86400 = 97.916...
        pytest.param("uptime-24h", 1, "uptime 24h", "97.91%", id="uptime-24h-down"),
        # The latest day with checks (9 days after creation): 100 + 10 * 9.
        pytest.param("response", 0, "response time", "190 ms", id="response"),
    ],
)
async def test_badges_tell_status_uptime_and_response_time(
    web: httpx.AsyncClient,
    built: scenario.Scenario,
    kind: str,
    component: int,
    label: str,
    message: str,
) -> None:
    ids = [c["id"] for c in (await _doc(web, "components.json"))["components"]]

    svg = await web.get(f"/status/acme/badges/{ids[component]}/{kind}.svg")
    endpoint = await web.get(f"/status/acme/badges/{ids[component]}/{kind}.json")

    assert svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.content).get("aria-label") == f"{label}: {message}"
    body = endpoint.json()
    assert (body["schemaVersion"], body["label"], body["message"]) == (1, label, message)


async def test_badge_of_an_unknown_kind_or_component_is_404(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    ids = [c["id"] for c in (await _doc(web, "components.json"))["components"]]

    assert (await web.get(f"/status/acme/badges/{ids[0]}/uptime-1y.svg")).status_code == 404
    assert (await web.get("/status/acme/badges/spc_nope/status.svg")).status_code == 404


async def test_maintenance_of_one_monitor_does_not_hide_another_of_the_same_name(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    # The API monitor is in maintenance; the website (down now) is renamed "API" too.
    components = [
        {"monitorId": built.api, "displayName": "API", "group": "Backend"},
        {"monitorId": built.web, "displayName": "API", "group": "Frontend"},
    ]
    response = await web.put(
        "/api/status-pages/acme", headers=built.tenant.headers, json={"components": components}
    )
    assert response.status_code == 200, response.text

    summary = await _doc(web, "summary.json")

    api, website = (c for c in summary["components"] if not c["group"])
    assert (api["status"], website["status"]) == ("under_maintenance", "major_outage")
    # The website's incident and the API's window name their own component only.
    (incident,) = summary["incidents"]
    assert [c["id"] for c in incident["components"]] == [website["id"]]
    windows = {w["name"]: w for w in summary["scheduled_maintenances"]}
    assert [c["id"] for c in windows["Database upgrade"]["components"]] == [api["id"]]
    assert len(windows["Network work"]["components"]) == 2  # org-wide


async def test_a_private_page_is_not_served_publicly(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    response = await web.put(
        "/api/status-pages/acme", headers=built.tenant.headers, json={"isPublic": False}
    )
    assert response.status_code == 200

    assert (await web.get("/status/acme")).status_code == 404
    assert (await web.get("/status/acme/api/v2/summary.json")).status_code == 404


async def test_start_page_links_public_pages_docs_and_next_steps(
    web: httpx.AsyncClient, built: scenario.Scenario
) -> None:
    response = await web.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<a href="/status/acme">Acme</a>' in response.text
    assert '<a href="/docs">' in response.text
    assert "Next steps" in response.text
