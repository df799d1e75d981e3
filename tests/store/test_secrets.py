"""Secrets at rest: the database holds no plaintext secret, keys come from the
environment or a 0600 key file, and rotation re-encrypts everything."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import make_url

from store.base import new_id
from store.clock import FrozenClock
from store.db import Store
from store.models import AlertChannel, Monitor
from store.monitors import create_monitor
from store.orgs import create_org
from store.secrets import SecretBox, SecretKeyError, key_file_for, load_box
from workers.cli import main

SECRETS = {
    "WEBHOOK": {"url": "https://hooks.example.com/in?token=QTOKEN-7f3a9", "secret": "WHSEC-5b21c"},
    "SLACK": {"webhookUrl": "https://hooks.slack.com/services/T0/B0/SLACKPATH-88e1"},
    "PAGERDUTY": {"routingKey": "PDROUTING-0c4d2e"},
    "APPRISE": {"url": "discord://1234/APPRISETOKEN-a9d3"},
}
HEADER_SECRET = "Bearer HEADERSECRET-61fa0"
PLAINTEXTS = [
    "QTOKEN-7f3a9",
    "WHSEC-5b21c",
    "SLACKPATH-88e1",
    "PDROUTING-0c4d2e",
    "APPRISETOKEN-a9d3",
    "HEADERSECRET-61fa0",
]


async def seed(store: Store, clock: FrozenClock) -> str:
    async with store.transaction() as session:
        org, _ = await create_org(
            session,
            name="S",
            slug="s",
            plan="ENTERPRISE",
            owner_email="o@s.t",
            now=clock.now(),
            trusted=False,
        )
        for kind, config in SECRETS.items():
            session.add(
                AlertChannel(
                    id=new_id("ac"),
                    org_id=org.id,
                    name=kind,
                    type=kind,
                    config=config,
                    is_active=True,
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
        monitor = await create_monitor(
            session,
            org.id,
            {
                "name": "api",
                "url": "https://api.example.com/",
                "type": "HTTP",
                "interval_s": 60,
                "method": "GET",
                "timeout_s": 5,
                "regions": ["local"],
                "config": {"headers": {"Authorization": HEADER_SECRET}, "followRedirects": True},
                "is_active": True,
            },
            now=clock.now(),
        )
    return monitor.id


async def stored_text(store: Store, database_url: str) -> bytes:
    """Every byte the database keeps: the SQLite files, or PostgreSQL's rows as text."""
    if not store.is_postgres:
        await store.close()  # checkpoint nothing away: read the WAL file too
        path = Path(make_url(database_url).database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    u = make_url(database_url)
    conninfo = f"host={u.host} port={u.port or 5432} user={u.username} dbname={u.database}"
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT row_to_json(c)::text FROM alert_channels c "
            "UNION ALL SELECT row_to_json(m)::text FROM monitors m"
        ).fetchall()
    return "\n".join(r[0] for r in rows).encode()


async def test_database_holds_no_plaintext_secret(
    store: Store, clock: FrozenClock, database_url: str
) -> None:
    monitor_id = await seed(store, clock)
    async with store.transaction() as session:
        configs = {c.type: c.config for c in await session.scalars(select(AlertChannel))}
        monitor = await session.get(Monitor, monitor_id)
        assert monitor is not None
        headers = monitor.config["headers"]
    assert configs == SECRETS  # read back as they were written
    assert headers == {"Authorization": HEADER_SECRET}

    raw = await stored_text(store, database_url)
    assert b"enc:v1:" in raw
    assert b"followRedirects" in raw  # the rest of a monitor's config stays readable
    leaked = [p for p in PLAINTEXTS if p.encode() in raw]
    assert leaked == []


def test_sqlite_key_file_is_created_0600_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIL_SECRET_KEY")
    url = f"sqlite:///{tmp_path}/vigil.db"
    path = key_file_for(url)
    assert path == tmp_path / "vigil.db.key"
    box = load_box(url)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sealed = box.encrypt("s3cret")
    assert load_box(url).decrypt(sealed) == "s3cret"  # the second start reads the same key


def test_postgres_without_a_key_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_SECRET_KEY")
    with pytest.raises(SecretKeyError, match="VIGIL_SECRET_KEY is required with PostgreSQL"):
        load_box("postgresql+psycopg://postgres@127.0.0.1/vigil")


def test_a_changed_key_is_refused_with_advice() -> None:
    sealed = SecretBox([Fernet.generate_key()]).encrypt("x")
    with pytest.raises(SecretKeyError, match="VIGIL_SECRET_KEY=new,old"):
        SecretBox([Fernet.generate_key()]).decrypt(sealed)


def test_legacy_plaintext_reads_as_it_is() -> None:
    assert SecretBox([Fernet.generate_key()]).decrypt("whsec_plain") == "whsec_plain"


async def _configs(url: str, keys: list[bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    store = Store(url, secret_box=SecretBox(keys))
    try:
        async with store.transaction() as session:
            channels = {c.type: c.config for c in await session.scalars(select(AlertChannel))}
            monitor = (await session.scalars(select(Monitor))).one()
            return channels, monitor.config["headers"]
    finally:
        await store.close()


async def test_rotate_with_environment_keys_re_encrypts_with_the_first(
    store: Store, clock: FrozenClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.environ["VIGIL_SECRET_KEY"].encode()
    await seed(store, clock)
    new = Fernet.generate_key()
    monkeypatch.setenv("VIGIL_SECRET_KEY", f"{new.decode()},{old.decode()}")
    assert await _rotate(database_url) == 0
    channels, headers = await _configs(database_url, [new])  # the old key is no longer needed
    assert channels == SECRETS and headers == {"Authorization": HEADER_SECRET}
    with pytest.raises(SecretKeyError):
        await _configs(database_url, [old])


async def test_rotate_with_the_key_file_writes_a_new_key(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.migrate import upgrade

    monkeypatch.delenv("VIGIL_SECRET_KEY")
    url = f"sqlite:///{tmp_path}/vigil.db"
    upgrade(url)
    store = Store(url)
    await seed(store, clock)
    await store.close()
    key_file = tmp_path / "vigil.db.key"
    before = key_file.read_text()
    assert await _rotate(url) == 0
    after = key_file.read_text()
    assert after != before and len(after.split()) == 1
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    channels, headers = await _configs(url, [after.strip().encode()])
    assert channels == SECRETS and headers == {"Authorization": HEADER_SECRET}


async def _rotate(url: str) -> int:
    import asyncio

    # The CLI runs its own event loop; give it a thread of its own.
    return await asyncio.to_thread(main, ["--database-url", url, "admin", "rotate-secret-key"])
