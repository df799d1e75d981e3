"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, and the clock.

Store-backed tests take the ``database_url`` or ``store`` fixture and run once per
backend. ``VIGIL_TEST_DB`` narrows the backends (``sqlite`` or ``postgresql``; both
by default). PostgreSQL tests run in a fresh database created for this run
(``VIGIL_TEST_PG_URL`` names the server, default the local one), dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.clock import FrozenClock
from store.db import Store, sync_url
from store.migrate import upgrade
from store.models import Base

# One key for every store and `vigil` subprocess of the run (PostgreSQL stores need
# one; SQLite stores would otherwise each make a key file beside their database).
os.environ.setdefault("VIGIL_SECRET_KEY", "dGVzdC1rZXktZm9yLXZpZ2lsLXRlc3RzLW9ubHktMDE=")

PG_SERVER = os.environ.get(
    "VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _backends() -> list[str]:
    wanted = os.environ.get("VIGIL_TEST_DB", "sqlite,postgresql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


def _conninfo(url: str) -> str:
    u = make_url(url)
    return (
        f"host={u.host or '127.0.0.1'} port={u.port or 5432} "
        f"user={u.username or 'postgres'} dbname={u.database}"
    )


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    name = f"vigil_test_{secrets.token_hex(4)}"
    admin = _conninfo(PG_SERVER)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_SERVER} ({exc}). Start it "
            "(pg_ctlcluster 15 main start) or run with VIGIL_TEST_DB=sqlite."
        )
    url = make_url(sync_url(PG_SERVER)).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg(url: str) -> None:
    """Delete every row and restart the sequences.

    DELETE, not TRUNCATE: TRUNCATE gives each of the ~40 tables new files, which cost
    0.3-0.7 s per test here; deleting the few rows a test wrote costs ~30 ms.
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        # Foreign keys are not checked while emptying (the rows all go anyway).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false)"
                " FROM pg_sequences WHERE schemaname = current_schema()"
            )
        )
    engine.dispose()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store for this test: a fresh SQLite file or a clean PG database."""
    if request.param == "sqlite":
        if request.node.get_closest_marker("postgres_only"):
            pytest.skip("needs PostgreSQL")
        path = tmp_path / "vigil.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_pg_database")
    _empty_pg(url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store(database_url)
    yield s
    await s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


# In CI (CI=true) a skipped PostgreSQL-only or fault test fails the run: those are
# the tests that prove the fleet's promises, and a skip would hide their absence.
_MISSED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    needs_pg = "postgres_only" in report.keywords and "[sqlite" not in report.nodeid
    if needs_pg or "fault" in report.keywords:
        _MISSED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true":
        return
    reasons = list(_MISSED)
    if "postgresql" not in _backends():
        reasons.append(f"VIGIL_TEST_DB={os.environ.get('VIGIL_TEST_DB')} leaves PostgreSQL out")
    if reasons:
        print("\nCI: PostgreSQL-only or fault tests did not run:\n  " + "\n  ".join(reasons))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
