"""Fixtures of the fault suite: one throwaway PostgreSQL cluster per session, a fresh
migrated database per test, and the figures each test measured."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from store.db import Store
from store.migrate import upgrade
from tests.faults.cluster import PgCluster, available

FIGURES_PROPERTY = "fault figures"


@pytest.fixture(scope="session")
def cluster() -> Iterator[PgCluster]:
    why = available()
    if why:
        pytest.skip(f"fault suite needs PostgreSQL 15 binaries: {why}")
    c = PgCluster()
    c.init()
    yield c
    c.destroy()


@pytest.fixture
def fault_url(cluster: PgCluster) -> str:
    cluster.wait_ready()
    url = cluster.create_database(f"vigil_fault_{secrets.token_hex(4)}")
    upgrade(url)
    return url


@pytest.fixture
async def fault_store(fault_url: str) -> AsyncIterator[Store]:
    s = Store(fault_url, pool_size=4)
    yield s
    await s.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """Figures a test measured, printed at the end of the run."""
    found: dict[str, object] = {}
    yield found
    if found:
        # In the test's report: it reaches the summary from a pytest-xdist worker too.
        row = json.dumps({"test": request.node.name, **found})
        request.node.user_properties.append((FIGURES_PROPERTY, row))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One cluster of their own is enough: with pytest-xdist they all run on one worker.
    for item in items:
        if item.get_closest_marker("fault"):
            item.add_marker(pytest.mark.xdist_group("fault"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # The teardown report carries them (the fixture adds them as it ends).
    rows = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", ())
        if name == FIGURES_PROPERTY
    ]
    if not rows:
        return
    terminalreporter.section("fault suite figures")
    for row in dict.fromkeys(rows):
        terminalreporter.write_line(str(row))
