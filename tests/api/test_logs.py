"""What reaches the logs: escaped request paths, no heartbeat tokens, no library URLs,
and no bootstrap key the operator supplied."""

from __future__ import annotations

import logging

import httpx
import pytest

from store.bootstrap import Bootstrapped
from store.config import Settings
from workers.cli import _logging
from workers.serve import print_banner

TOKEN = "hb_0123456789abcdefghij"


async def test_access_log_escapes_control_characters_and_masks_heartbeat_tokens(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="vigil.access"):
        await client.get("/api/monitors/x%0a2026-03-01 INFO forged%0d%1b[31m")
        await client.get(f"/api/heartbeat/{TOKEN}/fail")
    lines = [r.getMessage() for r in caplog.records if r.name == "vigil.access"]
    assert len(lines) == 2
    assert all("\n" not in line and "\r" not in line and "\x1b" not in line for line in lines)
    assert lines[0].startswith("GET /api/monitors/x\\x0a2026-03-01 INFO forged\\x0d\\x1b[31m ")
    assert TOKEN not in lines[1]
    assert lines[1].startswith("GET /api/heartbeat/\u2026ghij/fail ")


def test_library_loggers_that_log_urls_are_held_at_warning() -> None:
    _logging(Settings())
    for name in ("httpx", "httpcore", "urllib3"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name


@pytest.mark.parametrize("supplied", [True, False], ids=["supplied", "generated"])
def test_bootstrap_banner_prints_only_a_generated_key(
    supplied: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "vigil_0123456789abcdefghijklmnop"
    settings = Settings(bootstrap_key=key if supplied else None)
    print_banner(settings, Bootstrapped(org_id="org_1", key=key, demo_monitor_id=None))
    out = capsys.readouterr().out
    assert (key in out) is not supplied
    assert "organization 'default'" in out
