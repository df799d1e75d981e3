"""``/api/organization``: read, create (with its owner's first key), rename, unique slugs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from store.base import new_id
from store.clock import FrozenClock
from store.db import Store
from store.models import Organization
from tests.api.conftest import Tenant, make_tenant
from tests.api.helpers import assert_error


async def test_organization_get_answers_the_reference_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/organization", headers=tenant.headers)

    assert response.json() == {
        "data": {
            "id": tenant.org_id,
            "name": "Acme",
            "slug": "acme",
            "plan": "ENTERPRISE",
            "trusted": True,
            "createdAt": "2026-03-01T12:00:00.000Z",
        }
    }


async def test_organization_create_gives_an_owner_key_for_the_new_org(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    clock.advance(60)

    response = await client.post(
        "/api/organization",
        headers=tenant.headers,
        json={"name": "Initech", "slug": "initech", "plan": "PRO"},
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == {"id", "name", "slug", "plan", "trusted", "createdAt", "apiKey"}
    assert (data["name"], data["slug"], data["plan"]) == ("Initech", "initech", "PRO")
    assert data["createdAt"] == "2026-03-01T12:01:00.000Z"
    assert data["id"] != tenant.org_id
    own = await client.get(
        "/api/organization", headers={"Authorization": f"Bearer {data['apiKey']}"}
    )
    assert own.json()["data"]["id"] == data["id"]


async def test_organization_create_makes_the_caller_its_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The reference: "The authenticated user becomes the owner" (of several organizations)."""
    response = await client.post(
        "/api/organization", headers=tenant.headers, json={"name": "Initech", "slug": "initech"}
    )
    new_key = {"Authorization": f"Bearer {response.json()['data']['apiKey']}"}

    [old_owner] = (await client.get("/api/team", headers=tenant.headers)).json()["data"]
    [new_owner] = (await client.get("/api/team", headers=new_key)).json()["data"]
    assert (new_owner["userId"], new_owner["role"]) == (old_owner["userId"], "OWNER")
    assert new_owner["id"] != old_owner["id"]
    # Each key speaks for one membership: the old key still sees the old organization.
    assert (await client.get("/api/organization", headers=tenant.headers)).json()["data"][
        "slug"
    ] == "acme"


async def test_organization_create_with_an_owner_email_gives_it_a_new_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/organization",
        headers=tenant.headers,
        json={"name": "Initech", "slug": "initech", "ownerEmail": "boss@initech.test"},
    )
    new_key = {"Authorization": f"Bearer {response.json()['data']['apiKey']}"}

    [owner] = (await client.get("/api/team", headers=new_key)).json()["data"]
    assert (owner["email"], owner["role"]) == ("boss@initech.test", "OWNER")


async def test_organization_create_defaults_to_the_callers_plan(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/organization", headers=tenant.headers, json={"name": "Initech", "slug": "initech"}
    )

    assert response.json()["data"]["plan"] == "ENTERPRISE"


async def test_organization_create_with_a_taken_slug_is_409(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    response = await client.post(
        "/api/organization", headers=tenant.headers, json={"name": "Copycat", "slug": "globex"}
    )

    assert_error(response, 409, code="conflict", says="The slug 'globex' is already taken")


async def test_organization_create_with_a_taken_owner_email_is_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/organization",
        headers=tenant.headers,
        json={"name": "Initech", "slug": "initech", "ownerEmail": "o@acme.test"},
    )

    assert_error(response, 409, code="conflict", says="'o@acme.test' already exists")


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        pytest.param({"slug": "initech"}, "name", "is required", id="name-missing"),
        pytest.param({"name": "Initech"}, "slug", "is required", id="slug-missing"),
        pytest.param(
            {"name": "Initech", "slug": "Initech Inc"},
            "slug",
            "must be 1-50 lowercase letters, digits and hyphens, not starting or ending with '-'",
            id="slug-not-url-friendly",
        ),
        pytest.param(
            {"name": "Initech", "slug": "-initech"},
            "slug",
            "must be 1-50 lowercase letters, digits and hyphens, not starting or ending with '-'",
            id="slug-leading-hyphen",
        ),
        pytest.param(
            {"name": "n" * 101, "slug": "initech"},
            "name",
            "must be at most 100 characters",
            id="name-too-long",
        ),
        pytest.param(
            {"name": "Initech", "slug": "initech", "plan": "GOLD"},
            "plan",
            "must be one of FREE, PRO, BUSINESS, ENTERPRISE",
            id="plan-unknown",
        ),
        pytest.param(
            {"name": "Initech", "slug": "initech", "ownerEmail": "nobody"},
            "ownerEmail",
            "must be an email address",
            id="owner-email",
        ),
        pytest.param(
            {"name": "Initech", "slug": "initech", "logo": "x.png"},
            "logo",
            "is not an organization field",
            id="unknown-field",
        ),
    ],
)
async def test_organization_create_rejects_invalid_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, issue: str
) -> None:
    response = await client.post("/api/organization", headers=tenant.headers, json=body)

    result = assert_error(response, 400, code="invalid_request")
    assert {"field": field, "issue": issue} in result["fields"]


async def test_organization_patch_renames(
    client: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock
) -> None:
    response = await client.patch(
        "/api/organization", headers=tenant.headers, json={"name": "Acme Corporation"}
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert {k: data[k] for k in ("id", "name", "slug", "plan")} == {
        "id": tenant.org_id,
        "name": "Acme Corporation",
        "slug": "acme",
        "plan": "ENTERPRISE",
    }
    again = await client.get("/api/organization", headers=tenant.headers)
    assert again.json()["data"]["name"] == "Acme Corporation"


async def test_organization_patch_changes_the_slug(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/api/organization", headers=tenant.headers, json={"slug": "acme-inc"}
    )

    assert response.json()["data"]["slug"] == "acme-inc"
    again = await client.get("/api/organization", headers=tenant.headers)
    assert again.json()["data"]["slug"] == "acme-inc"


async def test_organization_patch_keeping_its_own_slug_is_fine(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/api/organization", headers=tenant.headers, json={"slug": "acme", "name": "Acme"}
    )

    assert response.status_code == 200, response.text


async def test_organization_patch_to_a_taken_slug_is_409(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    response = await client.patch(
        "/api/organization", headers=tenant.headers, json={"slug": "globex"}
    )

    assert_error(response, 409, code="conflict", says="The slug 'globex' is already taken")
    again = await client.get("/api/organization", headers=tenant.headers)
    assert again.json()["data"]["slug"] == "acme"


async def test_organization_patch_rejects_unknown_fields(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch("/api/organization", headers=tenant.headers, json={"plan": "X"})

    result = assert_error(response, 400, code="invalid_request")
    assert result["fields"] == [{"field": "plan", "issue": "is not an organization field"}]


async def _wait_until_blocked_on_a_lock(store: Store, *, deadline_s: float) -> None:
    """Return once some session waits for a row lock; each probe is one query."""
    stop = time.monotonic() + deadline_s
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < stop:
        async with store.sessions() as session:
            if await session.scalar(query):
                return
    raise AssertionError(f"no request waited on the slug's lock within {deadline_s} s")


@pytest.mark.postgres_only
async def test_organization_patch_slug_taken_concurrently_is_409(
    client: httpx.AsyncClient, tenant: Tenant, store: Store, clock: FrozenClock
) -> None:
    now = clock.now()
    async with store.sessions() as rival, rival.begin():
        # Another organization takes the slug in a transaction not yet committed.
        rival.add(
            Organization(
                id=new_id("org"),
                name="Racer",
                slug="racer",
                plan="FREE",
                created_at=now,
                updated_at=now,
            )
        )
        await rival.flush()
        patch = asyncio.create_task(
            client.patch("/api/organization", headers=tenant.headers, json={"slug": "racer"})
        )
        await _wait_until_blocked_on_a_lock(store, deadline_s=10)

    response = await patch

    assert_error(response, 409, code="conflict", says="The slug 'racer' is already taken")
    again = await client.get("/api/organization", headers=tenant.headers)
    assert again.json()["data"]["slug"] == "acme"


async def test_organization_create_on_a_higher_plan_than_the_callers_is_403(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    pro = await make_tenant(store, clock, "pro", plan="PRO")
    response = await client.post(
        "/api/organization",
        headers=pro.headers,
        json={"name": "Big", "slug": "big", "plan": "ENTERPRISE"},
    )
    assert_error(response, 403, code="forbidden", says="cannot create one on the ENTERPRISE plan")
    response = await client.post(
        "/api/organization", headers=pro.headers, json={"name": "Small", "slug": "small"}
    )
    assert response.status_code == 201 and response.json()["data"]["plan"] == "PRO"


@pytest.mark.parametrize("field", ["name", "slug"])
async def test_organization_patch_with_null_is_400(
    client: httpx.AsyncClient, tenant: Tenant, field: str
) -> None:
    response = await client.patch("/api/organization", headers=tenant.headers, json={field: None})
    assert_error(response, 400, code="invalid_request", says="must not be null")
