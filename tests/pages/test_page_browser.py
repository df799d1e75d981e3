"""The HTML status page in Debian's Chromium: bars, details, timeline, layout, a11y."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from store.clock import FrozenClock
from store.db import Store
from tests.pages import scenario
from tests.pages.conftest import LiveServer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("VIGIL_SCREENSHOT_DIR", tmp_path))
    where.mkdir(parents=True, exist_ok=True)
    return where


async def _built(live: LiveServer, store: Store, clock: FrozenClock) -> scenario.Scenario:
    async with httpx.AsyncClient(base_url=live.url) as client:
        return await scenario.build(client, store, clock)


class Watch:
    """Every request the page makes and every console error it logs."""

    def __init__(self, page: Page, origin: str) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.origin = origin
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def outside(self) -> list[str]:
        mine = urlsplit(self.origin).netloc
        return [
            u for u in self.requests if urlsplit(u).scheme != "data" and urlsplit(u).netloc != mine
        ]


async def test_page_shows_outage_yesterday_maintenance_today_and_the_timeline(
    live: LiveServer, store: Store, clock: FrozenClock, browser: Browser, shots: Path
) -> None:
    s = await _built(live, store, clock)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    watch = Watch(page, live.url)

    response = await page.goto(f"{live.url}/status/acme")

    assert response is not None and response.status == 200
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.locator("h1").inner_text() == "Acme status"
    banner = page.locator(".banner")
    assert "Partial outage" in await banner.inner_text()
    api = page.locator("article.comp", has=page.locator("h3", has_text="API"))
    assert "Under maintenance" in await api.locator(".st").inner_text()
    bars = api.locator("ol.bars > li")
    assert await bars.count() == 90
    # Days before the monitor existed have no data; 10 days ago it was created at noon.
    levels = [
        (await bars.nth(n).locator(".bar").get_attribute("class") or "").split()[-1]
        for n in range(90)
    ]
    assert levels[:79] == ["lv-nodata"] * 79
    assert levels[79:88] == ["lv-ok"] * 9
    assert levels[88] == "lv-major"  # yesterday: 45 minutes down
    assert levels[89] == "lv-maintenance"  # today: the database upgrade, no downtime

    # Yesterday's details list the incident, its downtime, no maintenance.
    yesterday = bars.nth(88)
    await yesterday.locator("summary").click()
    tip = yesterday.locator(".tip")
    assert await tip.is_visible()
    text = await tip.inner_text()
    assert "28 Feb 2026" in text and "45 min down" in text and "1 incident" in text
    assert "API: HTTP 503 (10:00\u201310:45)" in text
    assert "Maintenance" not in text
    await page.screenshot(path=str(shots / "details-1280.png"))
    today = bars.nth(89)
    await today.locator("summary").click()
    today_text = await today.locator(".tip").inner_text()
    assert "no downtime, maintenance" in today_text
    window = "Maintenance: Database upgrade (2026-03-01 11:00 UTC\u20132026-03-01 13:00 UTC)"
    assert window in today_text

    # The active incident with its timeline; HTML in an update is shown as text.
    active = page.locator("section[aria-labelledby=active-h] article")
    assert await active.count() == 1
    assert "Website: Connection timeout" in await active.locator("h3").inner_text()
    update = active.locator(".timeline li")
    assert "Looking into it <script>alert(1)</script>" in await update.inner_text()
    assert await page.locator(".timeline script").count() == 0

    # Yesterday's incident among the past ones, its updates newest first.
    past = page.locator("section[aria-labelledby=past-h] article")
    assert await past.count() == 1
    steps = [
        await li.locator("strong").first.inner_text()
        for li in await past.locator(".timeline li").all()
    ]
    assert steps == ["Resolved", "Identified", "Investigating"]
    assert await past.locator(".timeline strong", has_text="errors").count() == 1  # markdown bold

    maintenance = page.locator("section[aria-labelledby=mnt-h] article")
    assert [await m.locator("h3").inner_text() for m in await maintenance.all()] == [
        "Database upgrade",
        "Network work",
    ]
    assert "In progress" in await maintenance.nth(0).inner_text()
    assert "Scheduled" in await maintenance.nth(1).inner_text()
    assert "all components" in await maintenance.nth(1).inner_text()

    spark = api.locator("svg.spark")
    assert "average 145 ms" in (await spark.get_attribute("aria-label") or "")
    assert watch.errors == []
    assert watch.outside() == []
    assert s.tenant.org_id


@pytest.mark.parametrize("width", [1280, 390])
async def test_page_fits_the_width_without_horizontal_overflow(
    live: LiveServer, store: Store, clock: FrozenClock, browser: Browser, shots: Path, width: int
) -> None:
    await _built(live, store, clock)
    context = await browser.new_context(viewport={"width": width, "height": 800})
    page = await context.new_page()
    watch = Watch(page, live.url)
    await page.goto(f"{live.url}/status/acme")
    # A day's details open near the right edge must stay inside the page too.
    await page.locator("article.comp ol.bars > li").nth(88).locator("summary").click()

    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    await page.screenshot(path=str(shots / f"page-{width}.png"), full_page=True)

    assert overflow == 0
    assert watch.errors == []
    assert watch.outside() == []


async def test_page_has_no_serious_or_critical_accessibility_violation(
    live: LiveServer, store: Store, clock: FrozenClock, browser: Browser
) -> None:
    await _built(live, store, clock)
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{live.url}/status/acme")

    results = await Axe().run(page)

    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


async def test_page_renders_and_opens_details_without_javascript(
    live: LiveServer, store: Store, clock: FrozenClock, browser: Browser
) -> None:
    await _built(live, store, clock)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{live.url}/status/acme")

    yesterday = page.locator("article.comp ol.bars > li").nth(88)
    await yesterday.locator("summary").click()

    assert "Partial outage" in await page.locator(".banner").inner_text()
    assert await yesterday.locator(".tip").is_visible()
    assert await page.locator("article.comp").count() == 2
