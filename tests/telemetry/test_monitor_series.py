"""Per-monitor series: present while a monitor opts in and is run here, gone after."""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client import REGISTRY

from telemetry.monitor_series import MonitorSeries


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _up(monitor_id: str, name: str = "api", region: str = "eu") -> float | None:
    return REGISTRY.get_sample_value(
        "vigil_monitor_up", {"monitor_id": monitor_id, "monitor": name, "region": region}
    )


def _checks(monitor_id: str, status: str, name: str = "api") -> float | None:
    labels = {"monitor_id": monitor_id, "monitor": name, "region": "eu", "status": status}
    return REGISTRY.get_sample_value("vigil_monitor_checks_total", labels)


def _seen(series: MonitorSeries, monitor_id: str, status: str, **kw: object) -> None:
    args: dict[str, object] = {"enabled": True, "took_s": 0.25, "interval_s": 60, "name": "api"}
    args.update(kw)
    series.observe(
        monitor_id,
        str(args["name"]),
        "eu",
        enabled=bool(args["enabled"]),
        status=status,
        took_s=float(args["took_s"]),  # type: ignore[arg-type]
        interval_s=float(args["interval_s"]),  # type: ignore[arg-type]
    )


def test_an_opted_in_monitor_has_its_verdict_duration_and_counts() -> None:
    series = MonitorSeries(monotonic=Ticks())
    _seen(series, "mon_s1", "UP")
    _seen(series, "mon_s1", "DOWN")
    assert _up("mon_s1") == 0
    assert _checks("mon_s1", "UP") == 1 and _checks("mon_s1", "DOWN") == 1
    assert (
        REGISTRY.get_sample_value(
            "vigil_monitor_check_duration_seconds",
            {"monitor_id": "mon_s1", "monitor": "api", "region": "eu"},
        )
        == 0.25
    )
    _seen(series, "mon_s1", "DEGRADED")
    assert _up("mon_s1") == 1  # degraded still answers


def test_opting_out_removes_the_series_at_the_next_check() -> None:
    series = MonitorSeries(monotonic=Ticks())
    _seen(series, "mon_s2", "UP")
    assert _up("mon_s2") == 1
    _seen(series, "mon_s2", "UP", enabled=False)
    assert _up("mon_s2") is None and _checks("mon_s2", "UP") is None


def test_a_monitor_not_run_for_three_intervals_loses_its_series() -> None:
    ticks = Ticks()
    series = MonitorSeries(monotonic=ticks)
    _seen(series, "mon_s3", "UP")
    ticks.now += 3 * 60 + 59
    _seen(series, "mon_other", "UP")
    assert _up("mon_s3") == 1  # inside three slots and a minute
    ticks.now += 2
    _seen(series, "mon_other", "UP")
    assert _up("mon_s3") is None  # deleted, paused or moved: no stale verdict


def test_a_renamed_monitor_keeps_one_series() -> None:
    series = MonitorSeries(monotonic=Ticks())
    _seen(series, "mon_s4", "UP", name="old")
    _seen(series, "mon_s4", "UP", name="new")
    assert _up("mon_s4", name="old") is None
    assert _up("mon_s4", name="new") == 1


def _exposition(metrics: str) -> str:
    code = (
        "from prometheus_client import generate_latest\n"
        "from telemetry.metrics import CHECKS, CHECK_DURATION\n"
        "CHECKS.labels('HTTP', 'eu', 'UP').inc()\n"
        "CHECK_DURATION.labels('HTTP', 'eu').observe(0.1)\n"
        "print(generate_latest().decode())\n"
    )
    env = {**os.environ, "VIGIL_METRICS": metrics}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_vigil_metrics_off_records_nothing() -> None:
    assert 'vigil_checks_total{region="eu",status="UP",type="HTTP"} 1.0' in _exposition("on")
    off = _exposition("off")
    assert "vigil_checks_total" not in off and "vigil_check_duration" not in off
