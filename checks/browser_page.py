"""What a browser check observes on its page: console errors, failed requests, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import ConsoleMessage, Error, Page, Request, Response

from checks.base import Timings

MAX_RECORDED = 20
# The one script a check evaluates in the page; user input never reaches evaluate().
_NAVIGATION_ENTRY_JS = (
    "() => { const e = performance.getEntriesByType('navigation')[0];"
    " return e ? e.toJSON() : null; }"
)
# Navigating away cancels a page's pending loads; that is not the site failing.
_ABORTED = "net::ERR_ABORTED"


@dataclass
class PageWatch:
    """Collects console errors and failed sub-resource requests while a page runs."""

    page: Page
    console_errors: list[dict[str, str]] = field(default_factory=list)
    failed_requests: list[dict[str, Any]] = field(default_factory=list)
    console_error_count: int = 0
    failed_request_count: int = 0

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._add_console_error("console", message.text)

    def _on_page_error(self, error: Error) -> None:
        self._add_console_error("uncaught", f"{error.name}: {error.message}")

    def _add_console_error(self, kind: str, text: str) -> None:
        self.console_error_count += 1
        if len(self.console_errors) < MAX_RECORDED:
            self.console_errors.append({"type": kind, "text": text[:500]})

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or "failed"
        if failure != _ABORTED and not self._is_main_document(request):
            self._add_failed_request({"url": request.url, "failure": failure})

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._is_main_document(response.request):
            self._add_failed_request({"url": response.url, "status": response.status})

    def _add_failed_request(self, entry: dict[str, Any]) -> None:
        self.failed_request_count += 1
        if len(self.failed_requests) < MAX_RECORDED:
            self.failed_requests.append(entry)

    def _is_main_document(self, request: Request) -> bool:
        # The page's own document is judged by the goto step, not listed as a sub-resource.
        try:
            return request.is_navigation_request() and request.frame == self.page.main_frame
        except Error:  # requests of service workers have no frame
            return False


@dataclass(frozen=True)
class NavigationTiming:
    timings: Timings
    dom_content_loaded_ms: float | None
    load_ms: float | None
    size_bytes: int | None


async def read_navigation_timing(page: Page) -> NavigationTiming | None:
    """The current document's Navigation Timing entry, in the phases Vigil reports."""
    try:
        entry = await page.evaluate(_NAVIGATION_ENTRY_JS)
    except Error:
        # The page navigated on by itself (a script redirect): no timing, but no failure.
        if page.is_closed() or not page.context.browser or not page.context.browser.is_connected():
            raise
        return None
    if not isinstance(entry, dict):
        return None
    return navigation_timing(entry)


def navigation_timing(entry: dict[str, Any]) -> NavigationTiming:
    """Phases from a PerformanceNavigationTiming entry (all times ms from navigation start)."""

    def at(name: str) -> float:
        value = entry.get(name)
        return float(value) if isinstance(value, int | float) else 0.0

    def span(start: str, end: str) -> float | None:
        a, b = at(start), at(end)
        return round(b - a, 1) if a > 0 and b >= a else None

    tls_start = at("secureConnectionStart")
    tls = round(at("connectEnd") - tls_start, 1) if tls_start > 0 else None
    connect = span("connectStart", "connectEnd")
    tcp = round(connect - (tls or 0.0), 1) if connect is not None else None
    transferred = int(at("transferSize")) or int(at("encodedBodySize"))
    return NavigationTiming(
        timings=Timings(
            dns=span("domainLookupStart", "domainLookupEnd"),
            tcp=tcp,
            tls=tls,
            ttfb=span("requestStart", "responseStart"),
            download=span("responseStart", "responseEnd"),
        ),
        dom_content_loaded_ms=round(at("domContentLoadedEventEnd"), 1) or None,
        load_ms=round(at("loadEventEnd"), 1) or None,
        size_bytes=transferred or None,
    )
