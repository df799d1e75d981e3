"""``/api/status-pages``: shapes against the reference, validation, plan gates, privacy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from store.db import Store
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import ISO_MS, add_checks, add_incident, assert_error, create_monitor

# The reference's fields of a page in the list and in the create response.
REFERENCE_PAGE_FIELDS = {
    "id",
    "name",
    "slug",
    "customDomain",
    "isPublic",
    "orgId",
    "createdAt",
    "components",
}
VIGIL_PAGE_FIELDS = {
    "description",
    "logoUrl",
    "faviconUrl",
    "customCss",
    "hideBranding",
    "domainVerified",
    "updatedAt",
}
# The list shows a nested monitor, the create response a monitorId: both are given.
REFERENCE_COMPONENT_FIELDS = {"id", "monitorId", "displayName", "order", "monitor"}
VIGIL_COMPONENT_FIELDS = {"group", "regions"}
REFERENCE_PUBLIC_FIELDS = {
    "name",
    "slug",
    "logoUrl",
    "overallStatus",
    "components",
    "activeIncidents",
}
VIGIL_PUBLIC_FIELDS = {"description", "maintenance", "notices", "updatedAt"}


async def _page(
    client: httpx.AsyncClient, tenant: Tenant, monitors: list[str], **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {"name": "Acme Status", "slug": "acme-status", "monitors": monitors}
    body.update(extra)
    return await client.post("/api/status-pages", headers=tenant.headers, json=body)


async def test_create_answers_the_reference_shape_field_by_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    api = await create_monitor(client, tenant, name="Production API")
    web = await create_monitor(client, tenant, name="Web App", url="https://www.example.com")

    response = await _page(client, tenant, [api, web])

    assert response.status_code == 201, response.text
    page = response.json()["data"]
    assert set(page) == REFERENCE_PAGE_FIELDS | VIGIL_PAGE_FIELDS
    assert page["id"].startswith("sp_")
    assert ISO_MS.match(page["createdAt"])
    assert {k: page[k] for k in REFERENCE_PAGE_FIELDS - {"id", "createdAt", "components"}} == {
        "name": "Acme Status",
        "slug": "acme-status",
        "customDomain": None,
        "isPublic": True,
        "orgId": tenant.org_id,
    }
    assert [set(c) for c in page["components"]] == [
        REFERENCE_COMPONENT_FIELDS | VIGIL_COMPONENT_FIELDS
    ] * 2
    first, second = page["components"]
    assert first["id"].startswith("spc_")
    assert {k: v for k, v in first.items() if k != "id"} == {
        "monitorId": api,
        "displayName": "Production API",
        "order": 0,
        "monitor": {"id": api, "name": "Production API", "url": "https://api.example.com/health"},
        "group": None,
        "regions": None,
    }
    assert (second["monitorId"], second["displayName"], second["order"]) == (web, "Web App", 1)
    assert page["hideBranding"] is False and page["domainVerified"] is False

    listed = (await client.get("/api/status-pages", headers=tenant.headers)).json()["data"]
    assert listed == [page]


async def test_components_carry_display_name_group_and_regions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    api = await create_monitor(client, tenant, regions=["us-east-1", "eu-west-1"])
    body = {
        "name": "Acme",
        "slug": "acme",
        "components": [
            {
                "monitorId": api,
                "displayName": "API (EU)",
                "group": "Backend",
                "regions": ["eu-west-1"],
            },
            {"monitorId": api, "displayName": "API", "group": "Backend"},
        ],
    }

    page = (await client.post("/api/status-pages", headers=tenant.headers, json=body)).json()

    shown = [
        (c["displayName"], c["group"], c["regions"], c["order"]) for c in page["data"]["components"]
    ]
    assert shown == [("API (EU)", "Backend", ["eu-west-1"], 0), ("API", "Backend", None, 1)]


async def test_public_get_needs_no_key_and_answers_the_reference_shape(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    api = await create_monitor(client, tenant, name="Production API")
    web = await create_monitor(client, tenant, name="Web App", url="https://www.example.com")
    assert (await _page(client, tenant, [api, web])).status_code == 201
    started = clock.now() - timedelta(minutes=10)
    incident = await add_incident(
        store, org_id=tenant.org_id, monitor_id=web, started_at=started, cause="HTTP 503"
    )

    response = await client.get("/api/status-pages/acme-status")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == REFERENCE_PUBLIC_FIELDS | VIGIL_PUBLIC_FIELDS
    assert (data["name"], data["slug"], data["logoUrl"]) == ("Acme Status", "acme-status", None)
    # One of two components down: a partial outage overall.
    assert data["overallStatus"] == "partial_outage"
    components = [{k: c[k] for k in ("name", "status")} for c in data["components"]]
    assert components == [
        {"name": "Production API", "status": "operational"},
        {"name": "Web App", "status": "major_outage"},
    ]
    # API existed since the clock's now: no observed time yet, so no uptime figure.
    assert data["components"][0]["uptime90d"] is None
    [active] = data["activeIncidents"]
    assert (active["id"], active["status"], active["components"]) == (
        incident,
        "investigating",
        ["Web App"],
    )
    assert active["startedAt"] == started.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_uptime90d_is_by_time_and_never_rounded_up(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    api = await create_monitor(client, tenant)
    await _page(client, tenant, [api])
    # The monitor was created at the clock's now; ten days later it had 1 s of downtime.
    created = clock.now()
    clock.advance(10 * 86400)
    await add_incident(
        store,
        org_id=tenant.org_id,
        monitor_id=api,
        started_at=created + timedelta(days=2),
        resolved_at=created + timedelta(days=2, seconds=1),
    )
    # A check every hour: uptime by time counts the hours that have data.
    await add_checks(
        store,
        [
            {
                "monitor_id": api,
                "region": "us-east-1",
                "status": "UP",
                "checked_at": created + timedelta(hours=h, minutes=1),
                "response_time_ms": 100,
                "total_ms": 100.0,
            }
            for h in range(10 * 24)
        ],
    )

    data = (await client.get("/api/status-pages/acme-status")).json()["data"]

    observed = 10 * 86400
    expected = int((observed - 1) / observed * 10000) / 100  # 99.99884... -> 99.99
    assert data["components"][0]["uptime90d"] == expected == 99.99


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"name": None}, "name", id="name-missing"),
        pytest.param({"name": "x" * 101}, "name", id="name-101"),
        pytest.param({"slug": None}, "slug", id="slug-missing"),
        pytest.param({"slug": "Acme"}, "slug", id="slug-uppercase"),
        pytest.param({"slug": "acme_status"}, "slug", id="slug-underscore"),
        pytest.param({"slug": "a" * 51}, "slug", id="slug-51"),
        pytest.param({"slug": ""}, "slug", id="slug-empty"),
        pytest.param({"description": "d" * 501}, "description", id="description-501"),
        pytest.param({"monitors": None}, "monitors", id="monitors-missing"),
        pytest.param({"monitors": "mon_x"}, "monitors", id="monitors-not-list"),
        pytest.param({"monitors": ["mon_nope"]}, "monitors[0]", id="monitor-unknown"),
        pytest.param({"customDomain": "not a domain"}, "customDomain", id="domain-bad"),
        pytest.param({"faviconUrl": "javascript:alert(1)"}, "faviconUrl", id="favicon-scheme"),
        pytest.param({"customCss": "a{}</style>"}, "customCss", id="css-breaks-out"),
        pytest.param({"hideBranding": "yes"}, "hideBranding", id="branding-not-bool"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    ],
)
async def test_create_rejects_each_invalid_field(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    api = await create_monitor(client, tenant)
    body: dict[str, Any] = {"name": "Acme", "slug": "acme", "monitors": [api]}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}

    response = await client.post("/api/status-pages", headers=tenant.headers, json=body)

    error = assert_error(response, 400, code="invalid_request")
    assert field in [f["field"] for f in error["fields"]]
    listed = await client.get("/api/status-pages", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_slug_boundaries_50_chars_and_digits_hyphens_pass(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    api = await create_monitor(client, tenant)
    slug = "a1-" + "b" * 47
    assert len(slug) == 50

    response = await _page(client, tenant, [api], slug=slug)

    assert response.status_code == 201, response.text


async def test_another_organizations_monitor_cannot_be_a_component(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_monitor(client, other_tenant)

    response = await _page(client, tenant, [theirs])

    assert_error(response, 400, code="invalid_request", says="no monitor with id")


async def test_a_taken_slug_is_409_across_organizations(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert (await _page(client, tenant, [await create_monitor(client, tenant)])).status_code == 201
    theirs = await create_monitor(client, other_tenant)

    response = await _page(client, other_tenant, [theirs])

    assert_error(response, 409, code="conflict", says="taken")
    ours = await _page(client, other_tenant, [theirs], slug="globex-status")
    renamed = await client.put(
        "/api/status-pages/globex-status",
        headers=other_tenant.headers,
        json={"slug": "acme-status"},
    )
    assert ours.status_code == 201
    assert_error(renamed, 409, code="conflict")


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [
        pytest.param("FREE", False, id="free"),
        pytest.param("PRO", False, id="pro"),
        pytest.param("BUSINESS", True, id="business"),
        pytest.param("ENTERPRISE", True, id="enterprise"),
    ],
)
async def test_branding_needs_business_or_enterprise(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, plan: str, allowed: bool
) -> None:
    tenant = await make_tenant(store, clock, f"t-{plan.lower()}", plan=plan)
    api = await create_monitor(client, tenant)
    plain = await _page(client, tenant, [api], slug="plain")
    assert plain.status_code == 201

    for n, branding in enumerate([{"customCss": "body { color: #111; }"}, {"hideBranding": True}]):
        created = await _page(client, tenant, [api], slug=f"branded-{n}", **branding)
        updated = await client.put("/api/status-pages/plain", headers=tenant.headers, json=branding)

        if allowed:
            assert created.status_code == 201, created.text
            assert updated.status_code == 200
        else:
            field = next(iter(branding))
            error = assert_error(created, 403, code="forbidden", says="BUSINESS or ENTERPRISE")
            assert [f["field"] for f in error["fields"]] == [field]
            assert_error(updated, 403, code="forbidden", says="BUSINESS or ENTERPRISE")
    if not allowed:
        pages = (await client.get("/api/status-pages", headers=tenant.headers)).json()["data"]
        assert [(p["slug"], p["customCss"], p["hideBranding"]) for p in pages] == [
            ("plain", None, False)
        ]


async def test_a_private_page_needs_a_key_of_its_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    api = await create_monitor(client, tenant)
    await _page(client, tenant, [api], isPublic=False)

    anonymous = await client.get("/api/status-pages/acme-status")
    stranger = await client.get("/api/status-pages/acme-status", headers=other_tenant.headers)
    owner = await client.get("/api/status-pages/acme-status", headers=tenant.headers)

    assert_error(anonymous, 401, code="unauthenticated")
    assert_error(stranger, 404, code="status_page_not_found")
    assert owner.status_code == 200
    assert owner.json()["data"]["slug"] == "acme-status"


async def test_an_unknown_slug_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/status-pages/nope"), 404, code="status_page_not_found")


async def test_writes_to_another_organizations_page_are_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _page(client, tenant, [await create_monitor(client, tenant)])
    path = "/api/status-pages/acme-status"
    h = other_tenant.headers

    put = await client.put(path, headers=h, json={"name": "Mine now"})
    delete = await client.delete(path, headers=h)
    verify = await client.post(f"{path}/verify-domain", headers=h)

    for response in (put, delete, verify):
        assert_error(response, 404, code="status_page_not_found")
    still = (await client.get(path)).json()["data"]
    assert still["name"] == "Acme Status"


async def test_put_changes_given_fields_and_replaces_components(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    api = await create_monitor(client, tenant, name="API")
    web = await create_monitor(client, tenant, name="Web", url="https://www.example.com")
    await _page(client, tenant, [api, web], description="Our services")

    response = await client.put(
        "/api/status-pages/acme-status",
        headers=tenant.headers,
        json={"name": "Acme Status (Updated)", "monitors": [web]},
    )

    assert response.status_code == 200, response.text
    page = response.json()["data"]
    assert set(page) == REFERENCE_PAGE_FIELDS | VIGIL_PAGE_FIELDS
    assert (page["name"], page["description"]) == ("Acme Status (Updated)", "Our services")
    assert [(c["monitorId"], c["order"]) for c in page["components"]] == [(web, 0)]


async def test_delete_removes_the_page(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _page(client, tenant, [await create_monitor(client, tenant)])

    response = await client.delete("/api/status-pages/acme-status", headers=tenant.headers)

    assert response.status_code == 200
    assert response.json() == {"message": "Status page deleted successfully"}
    assert_error(
        await client.get("/api/status-pages/acme-status"), 404, code="status_page_not_found"
    )


async def test_a_notice_shows_on_the_page_until_resolved(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    await _page(client, tenant, [await create_monitor(client, tenant)])
    path = "/api/status-pages/acme-status/notices"

    bad = await client.post(path, headers=tenant.headers, json={"title": "x", "severity": "huge"})
    created = await client.post(
        path,
        headers=tenant.headers,
        json={"title": "Email delays", "body": "Our provider is slow.", "severity": "minor"},
    )
    shown = (await client.get("/api/status-pages/acme-status")).json()["data"]
    notice = created.json()["data"]
    resolved = await client.post(f"{path}/{notice['id']}/resolve", headers=tenant.headers)
    after = (await client.get("/api/status-pages/acme-status")).json()["data"]

    assert_error(bad, 400, code="invalid_request", says="severity")
    assert created.status_code == 201
    assert {k: notice[k] for k in ("title", "body", "severity", "resolvedAt")} == {
        "title": "Email delays",
        "body": "Our provider is slow.",
        "severity": "minor",
        "resolvedAt": None,
    }
    # A minor notice makes an operational page degraded, until it is resolved.
    assert (shown["overallStatus"], [n["title"] for n in shown["notices"]]) == (
        "degraded",
        ["Email delays"],
    )
    assert resolved.json()["data"]["resolvedAt"] is not None
    assert (after["overallStatus"], after["notices"]) == ("operational", [])
