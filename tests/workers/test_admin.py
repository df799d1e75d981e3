"""``vigil admin trust-org / untrust-org / create-org --trusted`` and the bootstrap's trust."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from store.bootstrap import bootstrap
from store.clock import FrozenClock
from store.config import Settings
from store.db import Store, sync_url
from store.models import Organization
from workers.cli import main


def vigil_admin(database_url: str, *args: str) -> int:
    """The ``vigil`` entry point itself, in this process (each command runs its own loop)."""
    return main(["--database-url", database_url, "admin", *args])


def trusted(database_url: str, slug: str) -> bool:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            value = conn.scalar(select(Organization.trusted).where(Organization.slug == slug))
    finally:
        engine.dispose()
    assert value is not None, f"no organization {slug!r}"
    return bool(value)


def test_trust_org_and_untrust_org_flip_the_flag(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert vigil_admin(database_url, "create-org", "--name", "T", "--slug", "tenant") == 0
    assert not trusted(database_url, "tenant")  # VIGIL_TRUST_NEW_ORGS defaults to false

    assert vigil_admin(database_url, "trust-org", "tenant") == 0
    assert "'tenant' is trusted" in capsys.readouterr().out
    assert trusted(database_url, "tenant")

    assert vigil_admin(database_url, "untrust-org", "tenant") == 0
    assert not trusted(database_url, "tenant")


def test_trust_org_of_an_unknown_slug_says_so(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert vigil_admin(database_url, "trust-org", "nobody") == 2
    assert "no organization with slug 'nobody'" in capsys.readouterr().err


def test_create_org_takes_the_default_or_the_flag(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_TRUST_NEW_ORGS", "true")
    assert vigil_admin(database_url, "create-org", "--name", "A", "--slug", "a") == 0
    args = ("create-org", "--name", "B", "--slug", "b", "--no-trusted")
    assert vigil_admin(database_url, *args) == 0
    monkeypatch.delenv("VIGIL_TRUST_NEW_ORGS")
    assert vigil_admin(database_url, "create-org", "--name", "C", "--slug", "c", "--trusted") == 0
    assert vigil_admin(database_url, "create-org", "--name", "D", "--slug", "d") == 0
    assert [trusted(database_url, s) for s in "abcd"] == [True, False, True, False]


async def test_bootstrap_org_is_trusted(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    done = await bootstrap(store, Settings(demo_monitor=False), now=clock.now())
    assert done is not None
    assert trusted(database_url, "default")
