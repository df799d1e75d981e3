"""BROWSER checks with a real Chromium against pages served on loopback.

One pool (one Chromium) serves the module; the crash test kills its own pool's browser.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from checks.base import CheckContext, MonitorSpec
from checks.browser import BrowserPool, close_default_pool, run
from tests.servers.pages import PageServer, serve_pages
from tests.servers.tls import Pki

pytestmark = pytest.mark.asyncio(loop_scope="module")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ArtifactSink:
    """Stands in for the worker's artifact store: keeps what checks save."""

    def __init__(self) -> None:
        self.saved: dict[str, bytes] = {}

    async def save(self, name: str, data: bytes) -> str:
        self.saved[name] = data
        return f"artifact://{len(self.saved)}/{name}"


def monitor(url: str, *, timeout_s: float = 15.0, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="m1",
        name="Shop login",
        type="BROWSER",
        url=url,
        timeout_s=timeout_s,
        config=config,
        trusted=True,
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with serve_pages() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    shared = BrowserPool()
    yield shared
    await shared.close()


LOGIN_STEPS = [
    {"action": "goto", "url": "/login"},
    {"action": "assertTitle", "text": "Sign in"},
    {"action": "fill", "selector": "#user", "value": "alice"},
    {"action": "fill", "selector": "#pass", "value": "secret"},
    {"action": "select", "selector": "#lang", "value": "fr"},
    {"action": "press", "selector": "#pass", "key": "Tab"},
    {"action": "click", "selector": "#submit"},
    {"action": "waitForURL", "url": "/dashboard"},
    {"action": "waitForSelector", "selector": "#greeting"},
    {"action": "assertText", "selector": "#greeting", "text": "Welcome, alice"},
    {"action": "assertVisible", "selector": "h1"},
    {"action": "assertNotVisible", "selector": "#pass"},
]


async def test_browser_login_flow_passes_every_step(pool: BrowserPool, site: PageServer) -> None:
    result = await pool.run_check(monitor(site.url("/"), steps=LOGIN_STEPS), CheckContext())

    assert result.error is None
    assert result.status == "UP"
    assert result.status_code == 200
    steps = result.details["steps"]
    assert [(s["index"], s["action"], s["ok"]) for s in steps] == [
        (i, raw["action"], True) for i, raw in enumerate(LOGIN_STEPS, start=1)
    ]
    assert steps[0]["url"] == site.url("/login")
    assert steps[6]["selector"] == "#submit"
    assert result.details["finalUrl"] == site.url("/dashboard")
    assert result.details["browserVersion"] == pool.version
    assert result.details["browserVersion"].split(".")[0].isdigit()
    assert "secret" not in repr(result), "a fill value (a password) leaked into the result"


async def test_browser_timings_come_from_the_first_page(
    pool: BrowserPool, site: PageServer
) -> None:
    result = await pool.run_check(monitor(site.url("/ok")), CheckContext())

    assert result.status == "UP"
    t = result.timings
    assert t.ttfb is not None and t.ttfb >= 0
    assert t.download is not None and t.download >= 0
    assert t.tls is None, "plain HTTP has no TLS phase"
    assert t.total is not None and result.response_time_ms is not None
    assert t.total >= t.ttfb
    assert result.size_bytes is not None and result.size_bytes > 5000  # ~5.6 kB of filler text
    assert 0 < result.details["domContentLoadedMs"] <= result.details["loadMs"]
    assert result.details["consoleErrors"] == []
    assert result.details["failedRequests"] == []


async def test_browser_page_that_moves_on_by_script_passes(
    pool: BrowserPool, site: PageServer
) -> None:
    steps = [
        {"action": "goto", "url": "/script-redirect"},
        {"action": "waitForURL", "url": "/ok"},
        {"action": "assertText", "selector": "#headline", "text": "all systems normal"},
    ]
    result = await pool.run_check(monitor(site.url("/"), steps=steps), CheckContext())

    assert (result.status, result.error) == ("UP", None)
    assert result.details["finalUrl"] == site.url("/ok")


async def test_browser_missing_button_names_the_step_and_saves_a_screenshot(
    pool: BrowserPool, site: PageServer
) -> None:
    sink = ArtifactSink()
    steps = [*LOGIN_STEPS[:4], {"action": "click", "selector": "#submit", "timeoutMs": 1000}]
    result = await pool.run_check(
        monitor(
            site.url("/redesigned"), steps=[{"action": "goto", "url": "/redesigned"}, *steps[1:]]
        ),
        CheckContext(save_artifact=sink.save),
    )

    assert result.status == "DOWN"
    assert result.error == "Step 5 (click '#submit'): element not found within 1 s"
    failed = result.details["steps"][-1]
    assert failed["ok"] is False and failed["error"] == "element not found within 1 s"
    assert list(sink.saved) == ["screenshot.png"]
    assert result.details["screenshot"] == "artifact://1/screenshot.png"
    width, height = png_size(sink.saved["screenshot.png"])
    assert width == 1280 and height >= 720


async def test_browser_failure_without_artifact_store_keeps_no_screenshot(
    pool: BrowserPool, site: PageServer
) -> None:
    steps = [
        {"action": "goto", "url": "/ok"},
        {"action": "click", "selector": "#nope", "timeoutMs": 300},
    ]
    result = await pool.run_check(monitor(site.url("/"), steps=steps), CheckContext())

    assert result.error == "Step 2 (click '#nope'): element not found within 0.3 s"
    assert "screenshot" not in result.details


async def test_browser_text_mismatch_shows_the_text_found(
    pool: BrowserPool, site: PageServer
) -> None:
    steps = [
        {"action": "goto", "url": "/ok"},
        {"action": "assertText", "selector": "#headline", "text": "degraded", "timeoutMs": 300},
    ]
    result = await pool.run_check(monitor(site.url("/"), steps=steps), CheckContext())

    assert result.status == "DOWN"
    assert result.error == (
        "Step 2 (assertText '#headline'): expected text containing 'degraded' "
        "but found 'Status: all systems normal'"
    )


async def test_browser_screenshot_step_saves_a_named_png(
    pool: BrowserPool, site: PageServer
) -> None:
    sink = ArtifactSink()
    steps = [{"action": "goto", "url": "/ok"}, {"action": "screenshot", "name": "home"}]
    result = await pool.run_check(
        monitor(site.url("/"), steps=steps), CheckContext(save_artifact=sink.save)
    )

    assert result.status == "UP"
    assert result.details["steps"][1]["screenshot"] == "artifact://1/home.png"
    assert png_size(sink.saved["home.png"])[0] == 1280


async def test_browser_slow_page_fails_at_the_monitor_timeout(
    pool: BrowserPool, site: PageServer
) -> None:
    url = site.url("/slow?delay=30")
    began = time.perf_counter()
    result = await pool.run_check(monitor(url, timeout_s=2), CheckContext())
    elapsed = time.perf_counter() - began

    assert result.status == "DOWN"
    assert result.error == (
        f"Check timed out after 2 s in step 1 (goto '{url}'); "
        "raise the monitor's timeout or make the page faster"
    )
    assert 2.0 <= elapsed < 4.5


async def test_browser_gauges_show_the_slots_and_the_check_holding_one(
    pool: BrowserPool, site: PageServer
) -> None:
    def in_use() -> float | None:
        return REGISTRY.get_sample_value("vigil_browser_pages_in_use")

    assert REGISTRY.get_sample_value("vigil_browser_slots") == 2
    before = in_use()
    check = asyncio.create_task(
        pool.run_check(monitor(site.url("/slow?delay=30"), timeout_s=2), CheckContext())
    )
    deadline = time.monotonic() + 5
    while in_use() != (before or 0) + 1:
        assert time.monotonic() < deadline, f"the gauge stayed at {in_use()}"
        await asyncio.sleep(0.01)
    await check
    assert in_use() == before


async def test_browser_refused_connection_says_so(pool: BrowserPool) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    result = await pool.run_check(monitor(url), CheckContext())

    assert result.status == "DOWN"
    assert result.error == (
        f"Step 1 (goto '{url}'): connection refused: is the server running on that port?"
    )


async def test_browser_error_status_fails_the_page_load(
    pool: BrowserPool, site: PageServer
) -> None:
    url = site.url("/gone")
    result = await pool.run_check(monitor(url), CheckContext())

    assert result.status == "DOWN"
    assert result.status_code == 404
    assert result.error == f"Step 1 (goto '{url}'): the page answered HTTP 404"


@pytest.fixture(scope="module")
def tls_site() -> Iterator[PageServer]:
    with serve_pages(Pki.server_context(Pki().good)) as server:
        yield server


async def test_browser_untrusted_certificate_fails_the_page_load(
    pool: BrowserPool, tls_site: PageServer
) -> None:
    url = tls_site.url("/ok")
    result = await pool.run_check(monitor(url), CheckContext())

    assert result.status == "DOWN"
    assert result.error == (
        f"Step 1 (goto '{url}'): the certificate is not signed by a trusted authority"
    )


async def test_browser_ignoring_https_errors_measures_the_tls_phase(
    pool: BrowserPool, tls_site: PageServer
) -> None:
    result = await pool.run_check(
        monitor(tls_site.url("/ok"), ignoreHttpsErrors=True), CheckContext()
    )

    assert (result.status, result.error) == ("UP", None)
    t = result.timings
    assert t.tls is not None and t.tls > 0
    assert t.tcp is not None and t.tcp >= 0


async def test_browser_refuses_local_files(pool: BrowserPool) -> None:
    result = await pool.run_check(monitor("file:///etc/passwd"), CheckContext())

    assert result.status == "DOWN"
    assert result.error == (
        "Step 1 (goto 'file:///etc/passwd'): only http:// and https:// pages can be opened; "
        "fix the URL"
    )


async def test_browser_page_errors_are_recorded_and_stay_up_by_default(
    pool: BrowserPool, site: PageServer
) -> None:
    result = await pool.run_check(monitor(site.url("/broken")), CheckContext())

    assert result.status == "UP"
    assert result.error is None
    texts = [e["text"] for e in result.details["consoleErrors"]]
    assert "ReferenceError: undefinedFunction is not defined" in texts
    assert result.details["failedRequests"] == [{"url": site.url("/missing.png"), "status": 404}]


@pytest.mark.parametrize(
    ("flag", "expected_start"),
    [
        pytest.param(
            "failOnConsoleErrors", "The page logged 2 console error(s), first: ", id="console"
        ),
        pytest.param(
            "failOnFailedRequests",
            "1 request(s) for page resources failed, first: {base}/missing.png (HTTP 404); "
            "fix them or set failOnFailedRequests to false",
            id="requests",
        ),
    ],
)
async def test_browser_page_errors_fail_the_check_when_asked(
    pool: BrowserPool, site: PageServer, flag: str, expected_start: str
) -> None:
    result = await pool.run_check(monitor(site.url("/broken"), **{flag: True}), CheckContext())

    assert result.status == "DOWN"
    assert result.error is not None
    assert result.error.startswith(expected_start.format(base=site.base_url))


async def test_browser_checks_do_not_share_cookies(pool: BrowserPool, site: PageServer) -> None:
    first = [
        {"action": "goto", "url": "/set-cookie"},
        {"action": "goto", "url": "/show-cookie"},
        {"action": "assertText", "selector": "#cookies", "text": "session=abc123"},
    ]
    second = [
        {"action": "goto", "url": "/show-cookie"},
        {"action": "assertText", "selector": "#cookies", "text": "cookies: none", "timeoutMs": 500},
    ]
    one = await pool.run_check(monitor(site.url("/"), steps=first), CheckContext())
    two = await pool.run_check(monitor(site.url("/"), steps=second), CheckContext())

    assert (one.status, one.error) == ("UP", None)
    assert (two.status, two.error) == ("UP", None)


async def test_browser_invalid_config_is_down_with_the_problem(pool: BrowserPool) -> None:
    steps = [{"action": "goto", "url": "/"}, {"action": "click"}]
    result = await pool.run_check(monitor("http://127.0.0.1:1/", steps=steps), CheckContext())

    assert result.status == "DOWN"
    assert result.error == (
        "The monitor's browser config is invalid: config.steps[1].selector is required "
        "for click; fix the monitor"
    )


async def test_browser_crash_fails_the_check_and_the_next_one_relaunches(site: PageServer) -> None:
    own = BrowserPool()
    try:
        url = site.url("/hang")
        in_flight = asyncio.create_task(own.run_check(monitor(url, timeout_s=30), CheckContext()))
        assert await asyncio.to_thread(site.wait_for_path, "/hang", 15), (
            "the page was never requested"
        )
        killed = own.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)

        crashed = await asyncio.wait_for(in_flight, timeout=10)
        assert crashed.status == "DOWN"
        assert crashed.error == (
            f"Browser crashed during the check (step 1: goto '{url}'); it will be relaunched"
        )

        after = await asyncio.wait_for(own.run_check(monitor(site.url("/ok")), CheckContext()), 20)
        assert (after.status, after.error) == ("UP", None)
        assert own.pid not in (None, killed)
    finally:
        await own.close()


async def test_browser_hung_browser_is_replaced(site: PageServer) -> None:
    own = BrowserPool()
    try:
        first = await own.run_check(monitor(site.url("/ok")), CheckContext())
        assert first.status == "UP"
        frozen = own.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)  # alive but answering nothing

        began = time.perf_counter()
        stuck = await asyncio.wait_for(
            own.run_check(monitor(site.url("/ok"), timeout_s=2), CheckContext()), 10
        )
        assert stuck.status == "DOWN"
        assert stuck.error == (
            "Check timed out after 2 s while opening a new page: the browser is not "
            "responding; it will be relaunched"
        )
        assert time.perf_counter() - began < 4.5

        after = await asyncio.wait_for(own.run_check(monitor(site.url("/ok")), CheckContext()), 20)
        assert (after.status, after.error) == ("UP", None)
        assert own.pid not in (None, frozen)
    finally:
        await own.close()


async def test_run_uses_a_default_pool_per_event_loop(site: PageServer) -> None:
    try:
        result = await run(monitor(site.url("/ok")), CheckContext())
    finally:
        await close_default_pool()

    assert (result.status, result.error) == ("UP", None)
    assert result.details["steps"] == [
        {
            "index": 1,
            "action": "goto",
            "url": site.url("/ok"),
            "status": 200,
            "ok": True,
            "durationMs": result.details["steps"][0]["durationMs"],
        }
    ]


async def test_browser_missing_chromium_says_how_to_fix(tmp_path: Path) -> None:
    absent = tmp_path / "chromium"
    lonely = BrowserPool(str(absent))
    try:
        result = await lonely.run_check(monitor("http://127.0.0.1:1/"), CheckContext())
    finally:
        await lonely.close()

    assert result.status == "DOWN"
    assert result.error == (
        f"Chromium was not found at {absent}; install Debian's chromium package "
        "or set VIGIL_CHROMIUM_PATH to the browser binary"
    )
    assert result.details == {"browserVersion": None}
