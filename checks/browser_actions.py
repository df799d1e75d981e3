"""Each step action as one fixed Playwright call, with failures worded for people.

``perform`` raises ``StepFailed`` when the page does not do what the step expects;
any other Playwright ``Error`` (browser gone, page crashed) propagates to the caller.
Selectors act on the first matching element. A fill value is never echoed: it may be
a password.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error, Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from checks.browser_steps import Step

SaveArtifact = Callable[[str, bytes], Awaitable[str]]

_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
_NET_ERROR_HINTS = {
    "ERR_CONNECTION_REFUSED": "connection refused: is the server running on that port?",
    "ERR_NAME_NOT_RESOLVED": "the host name does not resolve: check the URL and DNS",
    "ERR_CONNECTION_TIMED_OUT": "the connection timed out: is a firewall dropping it?",
    "ERR_CONNECTION_RESET": "the server reset the connection",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without answering",
    "ERR_CERT_AUTHORITY_INVALID": "the certificate is not signed by a trusted authority",
    "ERR_CERT_DATE_INVALID": "the certificate has expired or is not yet valid",
    "ERR_CERT_COMMON_NAME_INVALID": "the certificate does not name this host",
    "ERR_UNSAFE_PORT": "browsers refuse this port (it belongs to another protocol); use another",
}


class StepFailed(Exception):
    """The page did not do what a step expects; ``reason`` is for people.

    ``timed_out`` marks waits that ran out of time, so the caller can say so when
    the check's own deadline, not the step's, was what cut the wait short; ``status``
    is the HTTP status of a page that answered with an error.
    """

    def __init__(self, reason: str, *, timed_out: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.status = status


def seconds(ms: float) -> str:
    return f"{round(ms / 1000, 1):g} s"


def shorten(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def perform(
    page: Page, step: Step, *, timeout_ms: float, save_artifact: SaveArtifact | None
) -> dict[str, Any]:
    """Run one step; returns facts for the step's record (goto status, screenshot reference)."""
    if step.action == "goto":
        return await _goto(page, step, timeout_ms)
    if step.action == "waitForURL":
        await _wait_for_url(page, step, timeout_ms)
    elif step.action == "assertTitle":
        await _assert_title(page, step, timeout_ms)
    elif step.action == "screenshot":
        return await _screenshot(page, step, timeout_ms, save_artifact)
    elif step.action == "press" and step.selector is None:
        await _press_key(page, step)
    else:
        await _on_element(page, step, timeout_ms)
    return {}


async def _goto(page: Page, step: Step, timeout_ms: float) -> dict[str, Any]:
    assert step.url is not None
    # The monitor URL is not checked by the step validator; file: would read the worker's disk.
    if urlsplit(step.url).scheme not in ("http", "https"):
        raise StepFailed("only http:// and https:// pages can be opened; fix the URL")
    try:
        response = await page.goto(step.url, timeout=timeout_ms, wait_until="load")
    except PlaywrightTimeoutError:
        raise StepFailed(
            f"the page did not finish loading within {seconds(timeout_ms)}", timed_out=True
        ) from None
    except Error as exc:
        found = _NET_ERROR.search(exc.message)
        if found is None:
            raise
        code = found.group(1)
        raise StepFailed(
            _NET_ERROR_HINTS.get(code, f"the browser could not load it ({code})")
        ) from None
    if response is None:
        return {}
    if response.status >= 400:
        raise StepFailed(f"the page answered HTTP {response.status}", status=response.status)
    return {"status": response.status}


async def _wait_for_url(page: Page, step: Step, timeout_ms: float) -> None:
    wanted = step.url
    assert wanted is not None
    try:
        if "*" in wanted:
            await page.wait_for_url(wanted, timeout=timeout_ms)
        else:
            await page.wait_for_url(lambda url: wanted in url, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        raise StepFailed(
            f"the URL did not match within {seconds(timeout_ms)} (it is '{page.url}')",
            timed_out=True,
        ) from None


async def _assert_title(page: Page, step: Step, timeout_ms: float) -> None:
    try:
        if step.equals is not None:
            await expect(page).to_have_title(step.equals, timeout=timeout_ms)
        else:
            assert step.text is not None
            await expect(page).to_have_title(re.compile(re.escape(step.text)), timeout=timeout_ms)
    except AssertionError:
        how = f"'{step.equals}'" if step.equals is not None else f"containing '{step.text}'"
        actual = shorten(await page.title())
        raise StepFailed(f"expected a title {how} but it is '{actual}'") from None


async def _screenshot(
    page: Page, step: Step, timeout_ms: float, save_artifact: SaveArtifact | None
) -> dict[str, Any]:
    png = await page.screenshot(full_page=True, type="png", timeout=timeout_ms)
    if save_artifact is None:
        return {}
    try:
        return {"screenshot": await save_artifact(f"{step.name or f'step-{step.index}'}.png", png)}
    except Exception as exc:  # the worker's artifact store failing is not the page failing
        return {"screenshotError": shorten(str(exc) or repr(exc))}


async def _press_key(page: Page, step: Step) -> None:
    assert step.key is not None
    try:
        await page.keyboard.press(step.key)
    except Error as exc:
        if "Unknown key" not in exc.message:
            raise
        raise StepFailed(
            f"'{step.key}' is not a key name Playwright knows (e.g. Enter, Tab)"
        ) from None


async def _on_element(page: Page, step: Step, timeout_ms: float) -> None:
    assert step.selector is not None
    element = page.locator(step.selector).first
    try:
        await _act(element, step, timeout_ms)
    except PlaywrightTimeoutError:
        raise StepFailed(await _why_not(page, step, timeout_ms), timed_out=True) from None
    except AssertionError:
        raise StepFailed(await _why_not(page, step, timeout_ms)) from None
    except Error as exc:
        if "not a <select>" in exc.message:
            raise StepFailed("the element is not a <select>") from None
        if "Unsupported token" in exc.message or "not a valid selector" in exc.message:
            raise StepFailed("the selector is not valid CSS or Playwright syntax") from None
        raise


async def _act(element: Locator, step: Step, timeout_ms: float) -> None:
    if step.action == "click":
        await element.click(timeout=timeout_ms)
    elif step.action == "fill":
        await element.fill(step.value or "", timeout=timeout_ms)
    elif step.action == "press":
        await element.press(step.key or "", timeout=timeout_ms)
    elif step.action == "select":
        await element.select_option(step.value, timeout=timeout_ms)
    elif step.action == "waitForSelector":
        await element.wait_for(state=step.state, timeout=timeout_ms)  # type: ignore[arg-type]
    elif step.action == "assertText":
        await expect(element).to_contain_text(step.text or "", timeout=timeout_ms)
    elif step.action == "assertVisible":
        await expect(element).to_be_visible(timeout=timeout_ms)
    elif step.action == "assertNotVisible":
        await expect(element).to_be_hidden(timeout=timeout_ms)
    else:
        raise ValueError(f"no element action {step.action}")


async def _why_not(page: Page, step: Step, timeout_ms: float) -> str:
    """Why an element step failed, told apart by whether the element exists now."""
    within = seconds(timeout_ms)
    assert step.selector is not None
    found = await page.locator(step.selector).count()
    if step.action == "assertNotVisible":
        return f"the element is still visible after {within}"
    if step.action == "waitForSelector" and step.state in ("hidden", "detached"):
        still = "visible" if step.state == "hidden" else "on the page"
        return f"the element is still {still} after {within}"
    if not found:
        return f"element not found within {within}"
    if step.action == "assertText":
        actual = shorten(await page.locator(step.selector).first.inner_text(timeout=1000))
        return f"expected text containing '{step.text}' but found '{actual}'"
    if step.action == "select":
        return f"the element has no option '{step.value}' (after {within})"
    if step.action in ("click", "fill", "press"):
        return f"the element exists but was not visible and enabled within {within}"
    return f"the element exists but is not visible after {within}"
