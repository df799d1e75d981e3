from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerting import messages
from tests.alerting.events import down_event, up_event


def test_title_down_names_state_monitor_and_target() -> None:
    assert messages.title(down_event()) == "[DOWN] Production API (https://api.example.com/health)"


@pytest.mark.parametrize(
    ("event_type", "label"),
    [
        pytest.param("monitor.up", "RECOVERED", id="up"),
        pytest.param("monitor.degraded", "DEGRADED", id="degraded"),
        pytest.param("ssl.expiring", "SSL EXPIRING", id="ssl"),
        pytest.param("heartbeat.missed", "HEARTBEAT MISSED", id="heartbeat"),
        pytest.param("test", "TEST", id="test"),
    ],
)
def test_title_labels_each_event_type(event_type: str, label: str) -> None:
    assert messages.title(down_event(type=event_type)).startswith(f"[{label}] Production API")


def test_title_reminder_says_still_down() -> None:
    assert messages.title(down_event(is_reminder=True)).startswith("[STILL DOWN] ")


def test_title_without_target_has_no_empty_parentheses() -> None:
    assert messages.title(down_event(monitor_url="")) == "[DOWN] Production API"


def test_summary_lines_down_give_cause_regions_and_start_time() -> None:
    assert messages.summary_lines(down_event()) == [
        "Production API is DOWN.",
        "Monitor: Production API",
        "Target: https://api.example.com/health",
        "Status: DOWN",
        "Cause: Connection refused",
        "Regions: eu-west, us-east",
        "Started: 2026-03-01T12:00:00Z (Sunday 1 March 2026, 12:00:00 UTC)",
    ]


def test_summary_lines_recovery_give_outage_duration() -> None:
    lines = messages.summary_lines(up_event())
    assert lines[0] == "Production API has RECOVERED: down for 4 min 12 s."
    assert "Resolved: 2026-03-01T12:04:12Z (Sunday 1 March 2026, 12:04:12 UTC)" in lines
    assert "Down for: 4 min 12 s" in lines


def test_summary_lines_recovery_computes_duration_from_times() -> None:
    lines = messages.summary_lines(up_event(duration_s=None))
    assert "Down for: 4 min 12 s" in lines


def test_text_ends_with_event_id() -> None:
    assert messages.text(down_event()).endswith("-- Vigil, event evt_down_1")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0, "0 s", id="zero"),
        pytest.param(45, "45 s", id="seconds"),
        pytest.param(252, "4 min 12 s", id="minutes"),
        pytest.param(3600, "1 h", id="hour-exact"),
        pytest.param(3605, "1 h", id="hour-drops-seconds"),
        pytest.param(3725, "1 h 2 min", id="hour-minutes"),
        pytest.param(93_600, "1 d 2 h", id="days"),
    ],
)
def test_format_duration_shows_two_largest_units(seconds: int, expected: str) -> None:
    assert messages.format_duration(seconds) == expected


def test_format_time_treats_naive_as_utc() -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    aware = datetime(2026, 3, 1, 13, 0, tzinfo=UTC).astimezone()
    assert messages.iso(naive) == "2026-03-01T12:00:00Z"
    assert messages.iso(aware) == "2026-03-01T13:00:00Z"
