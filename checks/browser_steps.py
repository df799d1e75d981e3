"""The declarative step language of BROWSER monitors, and its validation.

A BROWSER monitor's ``config.steps`` is a list of objects, each with an ``action``
and that action's fields; every step may also set ``timeoutMs``. Absent steps mean
"open the monitor's URL". No step ever runs code a user wrote: each action maps to
one fixed Playwright call.

    goto {url}                     url absolute (http/https) or relative to the monitor URL
    click {selector}
    fill {selector, value}
    press {selector?, key}         without selector the key goes to the focused element
    select {selector, value}
    waitForSelector {selector, state?}   state: attached, detached, visible (default), hidden
    waitForURL {url}               a glob when it holds '*', else a substring of the URL
    assertText {selector, text}    the first matching element's text contains ``text``
    assertTitle {text | equals}    title contains ``text`` / is exactly ``equals``
    assertVisible {selector}
    assertNotVisible {selector}
    screenshot {name?}             saved as <name>.png when the worker keeps artifacts

``validate_steps`` and ``validate_config`` return ``(field, issue)`` pairs for the API,
e.g. ``("config.steps[2].selector", "is required for click")``; an empty list means valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_STEPS = 50
MAX_TIMEOUT_MS = 300_000
WAIT_STATES = ("attached", "detached", "visible", "hidden")
_SCREENSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# action -> (required fields, optional fields); every action also accepts timeoutMs.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "goto": (("url",), ()),
    "click": (("selector",), ()),
    "fill": (("selector", "value"), ()),
    "press": (("key",), ("selector",)),
    "select": (("selector", "value"), ()),
    "waitForSelector": (("selector",), ("state",)),
    "waitForURL": (("url",), ()),
    "assertText": (("selector", "text"), ()),
    "assertTitle": ((), ("text", "equals")),
    "assertVisible": (("selector",), ()),
    "assertNotVisible": (("selector",), ()),
    "screenshot": ((), ("name",)),
}
# Fields that may be empty strings: filling an empty value clears an input.
_MAY_BE_EMPTY = {"value"}
_BOOLEAN_FLAGS = ("failOnConsoleErrors", "failOnFailedRequests", "ignoreHttpsErrors")


@dataclass(frozen=True)
class Step:
    """One validated step; ``index`` counts from 1, as people read it."""

    index: int
    action: str
    selector: str | None = None
    url: str | None = None
    value: str | None = None
    key: str | None = None
    text: str | None = None
    equals: str | None = None
    state: str = "visible"
    name: str | None = None
    timeout_ms: int | None = None

    def describe(self) -> str:
        """``click '#submit'``: the step as error messages name it (never its value)."""
        target = self.selector or self.url or self.text or self.equals or self.name or self.key
        return f"{self.action} '{target}'" if target else self.action


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems with a BROWSER monitor's whole ``config``; empty when it is valid."""
    issues: list[tuple[str, str]] = []
    for flag in _BOOLEAN_FLAGS:
        if flag in config and not isinstance(config[flag], bool):
            issues.append((f"config.{flag}", "must be true or false"))
    if "steps" in config:
        issues.extend(validate_steps(config["steps"]))
    return issues


def validate_steps(raw: Any) -> list[tuple[str, str]]:
    """Problems with ``config.steps``; empty when every step is valid."""
    if not isinstance(raw, list):
        return [("config.steps", "must be a list of steps")]
    if not raw:
        return [("config.steps", "must hold at least one step, or be left out to open the URL")]
    if len(raw) > MAX_STEPS:
        return [("config.steps", f"has {len(raw)} steps; at most {MAX_STEPS} are allowed")]
    issues: list[tuple[str, str]] = []
    for i, step in enumerate(raw):
        issues.extend(_validate_step(i, step))
    first = raw[0]
    if isinstance(first, Mapping) and first.get("action") in ACTIONS and first["action"] != "goto":
        issues.append(("config.steps[0].action", "must be goto: a check starts on a blank page"))
    return issues


def _validate_step(i: int, step: Any) -> list[tuple[str, str]]:
    where = f"config.steps[{i}]"
    if not isinstance(step, Mapping):
        return [(where, "must be an object with an action")]
    action = step.get("action")
    if action not in ACTIONS:
        known = ", ".join(ACTIONS)
        return [(f"{where}.action", f"must be one of: {known}")]
    required, optional = ACTIONS[action]
    issues: list[tuple[str, str]] = []
    allowed = {"action", "timeoutMs", *required, *optional}
    for key in step:
        if key not in allowed:
            expected = ", ".join(sorted(allowed - {"action"}))
            issues.append((f"{where}.{key}", f"is not a field of {action}; expected: {expected}"))
    for key in required:
        if key not in step:
            issues.append((f"{where}.{key}", f"is required for {action}"))
    for key in (*required, *optional):
        if key in step:
            issues.extend(
                _validate_text(f"{where}.{key}", step[key], may_be_empty=key in _MAY_BE_EMPTY)
            )
    issues.extend(_validate_specifics(where, action, step))
    if "timeoutMs" in step:
        t = step["timeoutMs"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 < t <= MAX_TIMEOUT_MS:
            issues.append(
                (f"{where}.timeoutMs", f"must be a whole number from 1 to {MAX_TIMEOUT_MS}")
            )
    return issues


def _validate_text(where: str, value: Any, *, may_be_empty: bool) -> list[tuple[str, str]]:
    if not isinstance(value, str):
        return [(where, "must be a string")]
    if not value and not may_be_empty:
        return [(where, "must not be empty")]
    return []


def _validate_specifics(where: str, action: str, step: Mapping[str, Any]) -> list[tuple[str, str]]:
    url = step.get("url")
    if action == "goto" and isinstance(url, str) and url:
        scheme = urlsplit(url).scheme
        if scheme and scheme not in ("http", "https"):
            return [(f"{where}.url", "must be an http:// or https:// URL, or a path like /login")]
    if action == "assertTitle" and ("text" in step) == ("equals" in step):
        return [(f"{where}.text", "assertTitle needs exactly one of text (contains) or equals")]
    state = step.get("state")
    if action == "waitForSelector" and "state" in step and state not in WAIT_STATES:
        return [(f"{where}.state", f"must be one of: {', '.join(WAIT_STATES)}")]
    name = step.get("name")
    if action == "screenshot" and isinstance(name, str) and not _SCREENSHOT_NAME.match(name):
        return [(f"{where}.name", "must be 1-64 letters, digits, '-' or '_'")]
    return []


def parse_steps(config: Mapping[str, Any], monitor_url: str) -> list[Step]:
    """The steps of a config already accepted by ``validate_config``.

    Without ``steps`` the check just opens ``monitor_url``; relative goto URLs are
    resolved against it.
    """
    raw = config.get("steps")
    if raw is None:
        return [Step(index=1, action="goto", url=monitor_url)]
    steps: list[Step] = []
    for i, item in enumerate(raw, start=1):
        url = item.get("url")
        if item["action"] == "goto":
            url = urljoin(monitor_url, url)
        steps.append(
            Step(
                index=i,
                action=item["action"],
                selector=item.get("selector"),
                url=url,
                value=item.get("value"),
                key=item.get("key"),
                text=item.get("text"),
                equals=item.get("equals"),
                state=item.get("state", "visible"),
                name=item.get("name"),
                timeout_ms=item.get("timeoutMs"),
            )
        )
    return steps
