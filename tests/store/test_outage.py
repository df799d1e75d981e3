"""A store outage is logged calmly: one line, a summary every 30 s, one line when back."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from store.outage import OutageLog, is_store_unavailable


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _refused() -> OperationalError:
    orig = psycopg.OperationalError("connection failed: Connection refused\nIs the server running?")
    return OperationalError("SELECT 1", {}, orig)


def test_outage_is_one_line_then_a_summary_each_30_s_then_one_line_when_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    outage = OutageLog(logging.getLogger("t.outage"), "claim loop", monotonic=ticks)
    caplog.set_level(logging.INFO, logger="t.outage")
    for _ in range(60):  # 30 s of failures, two a second
        outage.failed(_refused())
        ticks.now += 0.5
    # 29.5 s after the first failure: still only the first line.
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage() == (
        "claim loop: the store is unavailable (OperationalError: connection failed: "
        "Connection refused); retrying, a summary follows every 30 s"
    )
    outage.failed(_refused())  # 30.0 s after
    assert len(caplog.records) == 2
    assert (
        caplog.records[1]
        .getMessage()
        .startswith("claim loop: the store is still unavailable after 30 s (61 failed tries;")
    )
    ticks.now += 5
    assert outage.ok() is True
    assert outage.ok() is False
    assert [r.getMessage() for r in caplog.records[2:]] == [
        "claim loop: the store is back after 35 s (61 failed tries meanwhile)"
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_a_bug_keeps_its_traceback_once_per_30_s(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    outage = OutageLog(logging.getLogger("t.bug"), "writer", monotonic=ticks)
    caplog.set_level(logging.INFO, logger="t.bug")
    bug = IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert not is_store_unavailable(bug)
    for _ in range(10):
        outage.failed(bug)
        ticks.now += 2.9
    ticks.now += 5
    outage.failed(bug)
    assert [bool(r.exc_info) for r in caplog.records] == [True, True]
    assert not outage.in_outage
