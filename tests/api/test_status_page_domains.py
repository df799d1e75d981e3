"""Custom domains: TXT verification against a loopback DNS server, Host routing, takeover."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from api.main import create_app
from pages.domains import reverify_domains
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from tests.api.conftest import Tenant, make_settings
from tests.api.helpers import assert_error, create_monitor
from tests.servers.dns import DnsServer

DOMAIN = "status.acme.test"
RECORD = f"_vigil-verification.{DOMAIN}."
PAGE = "/api/status-pages/acme"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer({"acme.test.": {"A": ["127.0.0.1"]}}) as server:
        yield server


@pytest.fixture
def settings(dns_server: DnsServer) -> Settings:
    return make_settings(
        VIGIL_DNS_NAMESERVERS=dns_server.address, status_page_fresh_s=0, status_page_timeout_s=60
    )


@pytest.fixture
async def client(
    store: Store, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test") as c:
        yield c


async def _page_with_domain(client: httpx.AsyncClient, tenant: Tenant) -> str:
    monitor = await create_monitor(client, tenant)
    body = {"name": "Acme", "slug": "acme", "monitors": [monitor], "customDomain": DOMAIN}
    created = await client.post("/api/status-pages", headers=tenant.headers, json=body)
    assert created.status_code == 201, created.text
    started = await client.post(f"{PAGE}/verify-domain", headers=tenant.headers)
    assert started.status_code == 200, started.text
    token: str = started.json()["data"]["verificationToken"]
    return token


async def _verified(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, object]:
    response = await client.get(f"{PAGE}/verify-domain", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


async def test_verification_start_answers_the_reference_shape(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _page_with_domain(client, tenant)

    again = await client.post(f"{PAGE}/verify-domain", headers=tenant.headers)

    assert re.fullmatch(r"vigil-verify=[A-Za-z0-9_-]{32}", token)
    assert again.json() == {
        "data": {
            "verificationToken": token,
            "instructions": {
                "type": "TXT",
                "host": f"_vigil-verification.{DOMAIN}",
                "value": token,
                "ttl": 300,
            },
        }
    }


async def test_domain_is_verified_only_by_the_exact_token(
    client: httpx.AsyncClient, tenant: Tenant, dns_server: DnsServer, clock: FrozenClock
) -> None:
    token = await _page_with_domain(client, tenant)
    missing = await _verified(client, tenant)
    dns_server.set_records(RECORD, "TXT", [f'"{token}x"', f'"{token[:-1]}"'])
    wrong = await _verified(client, tenant)
    dns_server.set_records(RECORD, "TXT", ['"v=other"', f'"{token}"'])

    found = await _verified(client, tenant)

    unverified = {"domainVerified": False, "customDomain": DOMAIN, "verifiedAt": None}
    assert missing == unverified
    assert wrong == unverified
    assert found == {
        "domainVerified": True,
        "customDomain": DOMAIN,
        "verifiedAt": clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    assert (RECORD, "TXT") in dns_server.queries


async def test_a_verified_domain_serves_its_page_at_the_root(
    client: httpx.AsyncClient, tenant: Tenant, dns_server: DnsServer
) -> None:
    token = await _page_with_domain(client, tenant)
    before = await client.get("/", headers={"Host": DOMAIN})
    asked_before = await client.get(f"/api/custom-domains/check?domain={DOMAIN}")
    dns_server.set_records(RECORD, "TXT", [f'"{token}"'])
    await _verified(client, tenant)

    page = await client.get("/", headers={"Host": f"{DOMAIN}:443"})
    asked = await client.get(f"/api/custom-domains/check?domain={DOMAIN}")

    assert "<h1>Vigil is running</h1>" in before.text
    assert_error(asked_before, 404, code="not_found")
    assert "<h1>Acme status</h1>" in page.text
    assert asked.json() == {"data": {"domain": DOMAIN, "verified": True}}


async def test_a_removed_record_unpublishes_the_domain_at_the_daily_check(
    client: httpx.AsyncClient,
    tenant: Tenant,
    dns_server: DnsServer,
    store: Store,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    token = await _page_with_domain(client, tenant)
    dns_server.set_records(RECORD, "TXT", [f'"{token}"'])
    assert (await _verified(client, tenant))["domainVerified"] is True
    dns_server.set_records(RECORD, "TXT", [])
    ns = settings.dns_nameservers

    early = await reverify_domains(store, nameservers=ns, now=clock.now() + timedelta(hours=23))
    still = await client.get("/", headers={"Host": DOMAIN})
    checked = await reverify_domains(store, nameservers=ns, now=clock.now() + timedelta(days=1))
    gone = await client.get("/", headers={"Host": DOMAIN})

    assert (early, checked) == (0, 1)
    assert "<h1>Acme status</h1>" in still.text
    assert "<h1>Vigil is running</h1>" in gone.text
    assert (await client.get(f"/api/custom-domains/check?domain={DOMAIN}")).status_code == 404
    assert (await _verified(client, tenant))["domainVerified"] is False


async def test_a_dns_failure_does_not_unpublish(
    client: httpx.AsyncClient,
    tenant: Tenant,
    dns_server: DnsServer,
    store: Store,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    token = await _page_with_domain(client, tenant)
    dns_server.set_records(RECORD, "TXT", [f'"{token}"'])
    await _verified(client, tenant)
    dns_server.rcode(RECORD, "SERVFAIL")

    checked = await reverify_domains(
        store, nameservers=settings.dns_nameservers, now=clock.now() + timedelta(days=2)
    )

    assert checked == 1
    assert "<h1>Acme status</h1>" in (await client.get("/", headers={"Host": DOMAIN})).text


async def test_changing_the_domain_needs_a_new_verification(
    client: httpx.AsyncClient, tenant: Tenant, dns_server: DnsServer
) -> None:
    token = await _page_with_domain(client, tenant)
    dns_server.set_records(RECORD, "TXT", [f'"{token}"'])
    await _verified(client, tenant)

    await client.put(PAGE, headers=tenant.headers, json={"customDomain": "status.other.test"})
    started = await client.post(f"{PAGE}/verify-domain", headers=tenant.headers)

    assert started.json()["data"]["verificationToken"] != token
    assert (await _verified(client, tenant))["domainVerified"] is False


async def test_verification_needs_a_domain_and_a_started_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monitor = await create_monitor(client, tenant)
    body = {"name": "Acme", "slug": "acme", "monitors": [monitor]}
    await client.post("/api/status-pages", headers=tenant.headers, json=body)

    no_domain = await client.post(f"{PAGE}/verify-domain", headers=tenant.headers)
    await client.put(PAGE, headers=tenant.headers, json={"customDomain": DOMAIN})
    not_started = await client.get(f"{PAGE}/verify-domain", headers=tenant.headers)

    assert_error(no_domain, 400, code="invalid_request", says="no customDomain")
    assert_error(not_started, 400, code="invalid_request", says="POST to this URL first")


async def test_a_domain_belongs_to_one_page(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _page_with_domain(client, tenant)
    theirs = await create_monitor(client, other_tenant)
    body = {"name": "G", "slug": "globex", "monitors": [theirs], "customDomain": DOMAIN}

    response = await client.post("/api/status-pages", headers=other_tenant.headers, json=body)

    assert_error(response, 409, code="conflict", says="another status page")
