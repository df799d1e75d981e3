"""Billing on RevenueCat: checkout, portal and webhook against a loopback RevenueCat."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.models import Organization
from tests.api.conftest import Tenant, app_client, make_settings, make_tenant
from tests.api.helpers import assert_error, create_monitor
from tests.api.team_helpers import member
from tests.servers.revenuecat import RevenueCatServer

SECRET = "sk_test_secret"
PUBLIC = "rcb_test_public"
WEBHOOK_AUTH = "Bearer whsec_shared_value"
PRODUCTS = "PRO=vigil_pro_monthly,BUSINESS=vigil_business_monthly,ENTERPRISE=vigil_ent"


@pytest.fixture
async def revenuecat() -> AsyncIterator[RevenueCatServer]:
    async with RevenueCatServer(secret_key=SECRET) as server:
        yield server


@pytest.fixture
def settings(revenuecat: RevenueCatServer) -> Settings:
    return make_settings(
        revenuecat_api_url=revenuecat.api_url,
        revenuecat_secret_key=SECRET,
        revenuecat_public_key=PUBLIC,
        revenuecat_webhook_auth=WEBHOOK_AUTH,
        revenuecat_products=PRODUCTS,
    )


def _event(kind: str, app_user_id: str, **fields: Any) -> dict[str, Any]:
    """A webhook body in RevenueCat's shape (trimmed to the fields Vigil reads)."""
    event = {
        "id": f"evt_{kind.lower()}",
        "type": kind,
        "app_user_id": app_user_id,
        "event_timestamp_ms": 1772366400000,
        "environment": "PRODUCTION",
        **fields,
    }
    return {"api_version": "1.0", "event": event}


async def _hook(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/api/billing/webhook", headers={"Authorization": WEBHOOK_AUTH}, json=body
    )


async def _plan(store: Store, org_id: str) -> str:
    async with store.transaction() as session:
        org = await session.get(Organization, org_id)
        assert org is not None
        return org.plan


@pytest.mark.parametrize(
    ("plan", "product"),
    [
        pytest.param("PRO", "vigil_pro_monthly", id="pro"),
        pytest.param("BUSINESS", "vigil_business_monthly", id="business"),
        pytest.param("ENTERPRISE", "vigil_ent", id="enterprise"),
    ],
)
async def test_billing_checkout_gives_the_product_user_and_public_key(
    client: httpx.AsyncClient, tenant: Tenant, plan: str, product: str
) -> None:
    response = await client.post(
        "/api/billing/checkout", headers=tenant.headers, json={"plan": plan}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"productId": product, "appUserId": tenant.org_id, "apiKey": PUBLIC}
    }


@pytest.mark.parametrize("plan", ["FREE", "pro", "GOLD", None])
async def test_billing_checkout_rejects_a_plan_not_for_sale(
    client: httpx.AsyncClient, tenant: Tenant, plan: str | None
) -> None:
    response = await client.post(
        "/api/billing/checkout", headers=tenant.headers, json={"plan": plan}
    )

    body = assert_error(response, 400, code="invalid_request", says="plan must be one of")
    assert body["fields"] == [
        {"field": "plan", "issue": "must be one of PRO, BUSINESS, ENTERPRISE"}
    ]


async def test_billing_portal_reads_the_subscriber_from_revenuecat(
    client: httpx.AsyncClient, tenant: Tenant, revenuecat: RevenueCatServer
) -> None:
    revenuecat.subscribers[tenant.org_id] = {
        "subscriptions": {"vigil_pro_monthly": {"expires_date": "2026-04-11T00:00:00Z"}},
        "entitlements": {"pro": {"expires_date": "2026-04-11T00:00:00Z"}},
        "management_url": "https://billing.example.com/manage",
    }

    response = await client.post("/api/billing/portal", headers=tenant.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "subscriptions": {"vigil_pro_monthly": {"expires_date": "2026-04-11T00:00:00Z"}},
            "entitlements": {"pro": {"expires_date": "2026-04-11T00:00:00Z"}},
            "managementUrl": "https://billing.example.com/manage",
        }
    }
    [request] = revenuecat.requests
    assert (request.method, request.path) == ("GET", f"/v1/subscribers/{tenant.org_id}")
    assert request.headers["authorization"] == f"Bearer {SECRET}"


async def test_billing_portal_of_a_new_customer_is_empty(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post("/api/billing/portal", headers=tenant.headers)

    assert response.json() == {
        "data": {"subscriptions": {}, "entitlements": {}, "managementUrl": None}
    }


async def test_billing_portal_with_a_wrong_secret_key_says_so(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant
) -> None:
    wrong = settings.model_copy(update={"revenuecat_secret_key": "sk_wrong"})
    async with app_client(store, clock, wrong) as client:
        response = await client.post("/api/billing/portal", headers=tenant.headers)

    assert_error(
        response, 503, code="unavailable", says="RevenueCat answered 401 (Invalid API Key.)"
    )
    assert "VIGIL_REVENUECAT_SECRET_KEY" in response.json()["error"]


async def test_billing_portal_with_revenuecat_unreachable_is_503(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant
) -> None:
    async with RevenueCatServer(secret_key=SECRET) as gone:
        url = gone.api_url
    down = settings.model_copy(update={"revenuecat_api_url": url})
    async with app_client(store, clock, down) as client:
        response = await client.post("/api/billing/portal", headers=tenant.headers)

    assert_error(response, 503, code="unavailable", says="did not answer")


async def test_billing_unconfigured_answers_501_saying_what_to_set(
    store: Store, clock: FrozenClock, tenant: Tenant
) -> None:
    async with app_client(store, clock, make_settings()) as client:
        checkout = await client.post(
            "/api/billing/checkout", headers=tenant.headers, json={"plan": "PRO"}
        )
        portal = await client.post("/api/billing/portal", headers=tenant.headers)
        hook = await _hook(client, _event("INITIAL_PURCHASE", tenant.org_id))

    for response in (checkout, portal):
        body = assert_error(response, 501, code="billing_not_configured", says="not configured")
        assert "VIGIL_REVENUECAT_SECRET_KEY and VIGIL_REVENUECAT_PUBLIC_KEY" in body["error"]
        assert "vigil admin set-plan" in body["error"]
    assert_error(hook, 501, code="billing_not_configured", says="VIGIL_REVENUECAT_WEBHOOK_AUTH")


async def test_billing_half_configured_names_only_the_missing_key(
    store: Store, clock: FrozenClock, settings: Settings, tenant: Tenant
) -> None:
    half = settings.model_copy(update={"revenuecat_public_key": None})
    async with app_client(store, clock, half) as client:
        response = await client.post("/api/billing/portal", headers=tenant.headers)

    body = assert_error(response, 501, code="billing_not_configured")
    assert "set VIGIL_REVENUECAT_PUBLIC_KEY (" in body["error"]
    assert "SECRET_KEY" not in body["error"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer whsec_other", id="wrong"),
        pytest.param(WEBHOOK_AUTH + " ", id="longer"),
    ],
)
async def test_billing_webhook_checks_the_authorization_header(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, header: str | None
) -> None:
    free = await make_tenant(store, clock, "freeco", "FREE")
    headers = {} if header is None else {"Authorization": header}

    response = await client.post(
        "/api/billing/webhook",
        headers=headers,
        json=_event("INITIAL_PURCHASE", free.org_id, product_id="vigil_pro_monthly"),
    )

    assert_error(response, 401, code="unauthenticated", says="VIGIL_REVENUECAT_WEBHOOK_AUTH")
    assert await _plan(store, free.org_id) == "FREE"


async def test_billing_webhook_purchase_applies_the_plans_limits_at_once(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    free = await make_tenant(store, clock, "freeco", "FREE")
    before = await client.get("/api/billing", headers=free.headers)
    assert before.headers["X-RateLimit-Limit"] == "60"
    browser = {"name": "b", "url": "https://example.com", "type": "BROWSER", "interval": 300}
    fast = {"name": "f", "url": "https://example.com", "type": "HTTP", "interval": 60}
    refused = await client.post("/api/monitors", headers=free.headers, json=browser)
    assert_error(refused, 403, code="forbidden", says="BROWSER monitors need")
    too_fast = await client.post("/api/monitors", headers=free.headers, json=fast)
    assert_error(too_fast, 400, code="invalid_request", says="interval")

    response = await _hook(
        client, _event("INITIAL_PURCHASE", free.org_id, product_id="vigil_business_monthly")
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["applied"], data["previousPlan"], data["plan"]) == (True, "FREE", "BUSINESS")
    after = await client.get("/api/billing", headers=free.headers)
    assert after.json()["plan"] == "BUSINESS"
    assert after.headers["X-RateLimit-Limit"] == "1000"
    # The browser gate and the minimum interval (BUSINESS: 30 s) follow at once.
    for body in (browser, fast):
        allowed = await client.post("/api/monitors", headers=free.headers, json=body)
        assert allowed.status_code == 201, allowed.text


async def test_billing_webhook_expiration_keeps_monitors_and_reports_them(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    org = await make_tenant(store, clock, "bizco", "BUSINESS")
    ids = [await create_monitor(client, org, name=f"m{i}", interval=300) for i in range(5)]
    fast = await create_monitor(client, org, name="fast", interval=60)
    browser = await create_monitor(client, org, name="b", type="BROWSER", interval=300)

    response = await _hook(
        client, _event("EXPIRATION", org.org_id, product_id="vigil_business_monthly")
    )

    data = response.json()["data"]
    assert (data["previousPlan"], data["plan"]) == ("BUSINESS", "FREE")
    expected = {
        "monitorsOverLimit": 7 - 5,
        "intervalBelowMinimum": [fast],
        "browserNotAllowed": [browser],
    }
    assert data["overLimit"] == expected
    billing = (await client.get("/api/billing", headers=org.headers)).json()
    assert (billing["monitorCount"], billing["monitorLimit"]) == (7, 5)
    assert billing["overLimit"] == expected
    listed = (await client.get("/api/monitors", headers=org.headers)).json()["data"]
    assert {m["id"] for m in listed} == {*ids, fast, browser}
    more = await client.post(
        "/api/monitors",
        headers=org.headers,
        json={"name": "x", "url": "https://e.com", "type": "HTTP", "interval": 300},
    )
    assert_error(more, 403, code="forbidden", says="FREE plan allows 5 monitors")


async def test_billing_webhook_product_change_uses_the_new_product(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock
) -> None:
    org = await make_tenant(store, clock, "proco", "PRO")

    response = await _hook(
        client,
        _event(
            "PRODUCT_CHANGE",
            org.org_id,
            product_id="vigil_pro_monthly",
            new_product_id="vigil_ent",
        ),
    )

    assert response.json()["data"]["plan"] == "ENTERPRISE"
    assert await _plan(store, org.org_id) == "ENTERPRISE"


@pytest.mark.parametrize(
    ("kind", "fields", "reason"),
    [
        pytest.param("TEST", {}, "TEST does not change the plan", id="test-event"),
        pytest.param(
            "CANCELLATION",
            {"product_id": "vigil_pro_monthly"},
            "CANCELLATION does not change the plan",
            id="cancellation-keeps-access-until-expiry",
        ),
        pytest.param(
            "RENEWAL",
            {"product_id": "someone_elses_product"},
            "product 'someone_elses_product' is not in VIGIL_REVENUECAT_PRODUCTS",
            id="unknown-product",
        ),
    ],
)
async def test_billing_webhook_events_that_change_nothing_answer_200(
    client: httpx.AsyncClient,
    store: Store,
    clock: FrozenClock,
    kind: str,
    fields: dict[str, Any],
    reason: str,
) -> None:
    org = await make_tenant(store, clock, "freeco", "FREE")

    response = await _hook(client, _event(kind, org.org_id, **fields))

    assert response.status_code == 200
    assert response.json() == {"data": {"applied": False, "reason": reason}}
    assert await _plan(store, org.org_id) == "FREE"


async def test_billing_webhook_for_an_unknown_organization_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, store: Store
) -> None:
    response = await _hook(
        client, _event("INITIAL_PURCHASE", "org_unknown", product_id="vigil_pro_monthly")
    )

    assert response.json() == {
        "data": {"applied": False, "reason": "no organization 'org_unknown'"}
    }
    assert await _plan(store, tenant.org_id) == "ENTERPRISE"


async def test_billing_checkout_and_portal_are_for_the_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    _, admin = await member(client, tenant, "admin@example.com", "ADMIN")

    checkout = await client.post(
        "/api/billing/checkout", headers=admin.headers, json={"plan": "PRO"}
    )
    portal = await client.post("/api/billing/portal", headers=admin.headers)

    assert_error(checkout, 403, code="forbidden", says="needs an OWNER")
    assert_error(portal, 403, code="forbidden", says="needs an OWNER")


def _vigil(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=False,
    )


async def test_billing_cli_set_plan_changes_the_plan_and_reports(
    client: httpx.AsyncClient, store: Store, clock: FrozenClock, database_url: str
) -> None:
    org = await make_tenant(store, clock, "bizco", "BUSINESS")
    fast = await create_monitor(client, org, interval=60)

    done = _vigil(database_url, "admin", "set-plan", "--org", "bizco", "FREE")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "bizco: plan BUSINESS -> FREE",
        f"interval below the plan's minimum (kept until edited): {fast}",
    ]
    assert await _plan(store, org.org_id) == "FREE"
    billing = await client.get("/api/billing", headers=org.headers)
    assert billing.headers["X-RateLimit-Limit"] == "60"


async def test_billing_cli_set_plan_refuses_unknown_org_or_plan(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    org = await make_tenant(store, clock, "bizco", "BUSINESS")

    no_org = _vigil(database_url, "admin", "set-plan", "--org", "nope", "FREE")
    no_plan = _vigil(database_url, "admin", "set-plan", "--org", "bizco", "GOLD")

    assert (no_org.returncode, no_org.stderr) == (2, "vigil: no organization with slug 'nope'\n")
    assert no_plan.returncode == 2
    assert "plan 'GOLD' is not one of FREE, PRO, BUSINESS, ENTERPRISE" in no_plan.stderr
    assert await _plan(store, org.org_id) == "BUSINESS"
