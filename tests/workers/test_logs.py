"""Logs: ``VIGIL_LOG_FORMAT=json`` gives one JSON object per line with the ids in context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.logcontext import bind_ids, bound, current
from workers.logs import JSONFormatter, configure_logging

KEY = "vigil_" + "l" * 40


def _record(logger: logging.Logger, fmt: logging.Formatter, msg: str) -> dict[str, Any]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    try:
        logger.warning(msg)
    finally:
        logger.removeHandler(handler)
    line: dict[str, Any] = json.loads(out.getvalue())
    return line


def test_json_line_has_time_level_logger_message_and_bound_ids() -> None:
    logger = logging.getLogger("vigil.test.logs")
    with bound(requestId="req_abc", monitorId="mon_1"):
        line = _record(logger, JSONFormatter(), "hello %s")
    assert line["level"] == "warning"
    assert line["logger"] == "vigil.test.logs"
    assert line["message"] == "hello %s"
    assert line["requestId"] == "req_abc"
    assert line["monitorId"] == "mon_1"
    assert line["time"].endswith("+00:00")
    # Outside the block the ids are gone again.
    assert current() == {}


def test_json_line_takes_ids_passed_as_extra_and_keeps_tracebacks_in_one_field() -> None:
    logger = logging.getLogger("vigil.test.logs")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            logger.exception("failed", extra={"incidentId": "inc_9"})
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, "a traceback must stay on the record's one line"
    line = json.loads(lines[0])
    assert line["incidentId"] == "inc_9"
    assert "ValueError: boom" in line["exception"]


async def test_ids_bound_in_a_task_context_do_not_leak_to_other_tasks() -> None:
    import contextvars

    seen: dict[str, dict[str, str]] = {}

    async def job(name: str) -> None:
        await asyncio.sleep(0)
        seen[name] = current()

    context = contextvars.copy_context()
    context.run(bind_ids, monitorId="mon_a", checkSlot="2026-03-01T12:00:00+00:00")
    await asyncio.gather(
        asyncio.create_task(job("a"), context=context), asyncio.create_task(job("b"))
    )
    assert seen["a"] == {"monitorId": "mon_a", "checkSlot": "2026-03-01T12:00:00+00:00"}
    assert seen["b"] == {}


def test_configure_logging_quiets_libraries_that_log_urls() -> None:
    configure_logging("info", "text")
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _closed_port() -> int:
    return _free_port()  # nothing listens there once the probe socket is closed


@pytest.mark.slow
async def test_vigil_run_json_logs_parse_line_by_line_and_carry_ids(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_PORT": str(port),
        "VIGIL_LOG_FORMAT": "json",
        "VIGIL_LOG_LEVEL": "info",
        "VIGIL_BOOTSTRAP_KEY": KEY,
        "VIGIL_DEMO_MONITOR": "false",
    }
    log_path = tmp_path / "vigil.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workers.cli",
            "run",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {KEY}", "X-Request-Id": "req_logtest0001"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "vigil run did not start"
                await asyncio.sleep(0.1)
            created = await client.post(
                "/api/monitors",
                headers=headers,
                json={
                    "name": "closed port",
                    "type": "TCP",
                    "url": f"tcp://127.0.0.1:{_closed_port()}",
                    "interval": 15,
                    "timeout": 2,
                    "failureThreshold": 1,
                },
            )
            assert created.status_code == 201, created.text
            monitor_id = created.json()["data"]["id"]
            # The first check comes within one interval (first runs are spread).
            deadline = time.monotonic() + 45
            while not (await client.get("/api/incidents", headers=headers)).json()["data"]:
                assert time.monotonic() < deadline, "no incident opened"
                await asyncio.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await proc.wait()
    lines = [json.loads(raw) for raw in log_path.read_text().splitlines() if raw.strip()]
    assert lines, "the process logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    access = [ln for ln in lines if ln["logger"] == "vigil.access"]
    assert any(
        ln.get("requestId") == "req_logtest0001" and "/api/monitors" in ln["message"]
        for ln in access
    ), access
    opened = [ln for ln in lines if "opened for monitor" in ln["message"]]
    assert opened and opened[0]["monitorId"] == monitor_id
    assert opened[0]["incidentId"].startswith("inc_")
