"""An API app on the test store, with a frozen clock and a bootstrapped organization."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from api.main import create_app
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store
from store.orgs import create_org


@dataclass
class Tenant:
    org_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"VIGIL_REGIONS": "us-east-1,eu-west-1,ap-south-1"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def make_tenant(
    store: Store, clock: FrozenClock, slug: str, plan: str = "ENTERPRISE", *, trusted: bool = True
) -> Tenant:
    """An organization and its owner's key; trusted (tests monitor loopback servers)."""
    async with store.transaction() as session:
        org, key = await create_org(
            session,
            name=slug.title(),
            slug=slug,
            plan=plan,
            owner_email=f"o@{slug}.test",
            now=clock.now(),
            trusted=trusted,
        )
    return Tenant(org_id=org.id, key=key)


def app_client(store: Store, clock: FrozenClock, settings: Settings) -> httpx.AsyncClient:
    """A client of an app with other settings than the ``client`` fixture's."""
    app = create_app(settings, store=store, clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vigil.test")


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def client(
    store: Store, clock: FrozenClock, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(store, clock, settings) as c:
        yield c


@pytest.fixture
async def tenant(store: Store, clock: FrozenClock) -> Tenant:
    return await make_tenant(store, clock, "acme")


@pytest.fixture
async def other_tenant(store: Store, clock: FrozenClock) -> Tenant:
    return await make_tenant(store, clock, "globex")
