"""Validation and parsing of the BROWSER step language (no browser needed)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.browser_steps import Step, parse_steps, validate_config, validate_steps

GOTO = {"action": "goto", "url": "https://shop.example/login"}


def test_validate_steps_accepts_every_action() -> None:
    steps = [
        GOTO,
        {"action": "click", "selector": "#a", "timeoutMs": 2000},
        {"action": "fill", "selector": "#user", "value": ""},
        {"action": "press", "key": "Enter"},
        {"action": "press", "selector": "#user", "key": "Tab"},
        {"action": "select", "selector": "#lang", "value": "fr"},
        {"action": "waitForSelector", "selector": ".done", "state": "detached"},
        {"action": "waitForURL", "url": "**/dashboard"},
        {"action": "assertText", "selector": "h1", "text": "Welcome"},
        {"action": "assertTitle", "equals": "Dashboard"},
        {"action": "assertVisible", "selector": "nav"},
        {"action": "assertNotVisible", "selector": ".error"},
        {"action": "screenshot", "name": "after-login"},
        {"action": "screenshot"},
    ]
    assert validate_steps(steps) == []


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param("goto", [("config.steps", "must be a list of steps")], id="not-a-list"),
        pytest.param(
            [],
            [("config.steps", "must hold at least one step, or be left out to open the URL")],
            id="empty",
        ),
        pytest.param(
            [GOTO, GOTO, {"action": "click"}],
            [("config.steps[2].selector", "is required for click")],
            id="missing-selector",
        ),
        pytest.param(
            [GOTO, {"action": "hover", "selector": "a"}],
            [
                (
                    "config.steps[1].action",
                    "must be one of: goto, click, fill, press, select, waitForSelector, "
                    "waitForURL, assertText, assertTitle, assertVisible, assertNotVisible, "
                    "screenshot",
                )
            ],
            id="unknown-action",
        ),
        pytest.param(
            [GOTO, {"action": "click", "selecter": "#a"}],
            [
                (
                    "config.steps[1].selecter",
                    "is not a field of click; expected: selector, timeoutMs",
                ),
                ("config.steps[1].selector", "is required for click"),
            ],
            id="typo",
        ),
        pytest.param(
            [{"action": "click", "selector": "#a"}],
            [("config.steps[0].action", "must be goto: a check starts on a blank page")],
            id="first-not-goto",
        ),
        pytest.param(
            [{"action": "goto", "url": "javascript:alert(1)"}],
            [("config.steps[0].url", "must be an http:// or https:// URL, or a path like /login")],
            id="javascript-url",
        ),
        pytest.param(
            [GOTO, {"action": "fill", "selector": "", "value": 3}],
            [
                ("config.steps[1].selector", "must not be empty"),
                ("config.steps[1].value", "must be a string"),
            ],
            id="bad-fill",
        ),
        pytest.param(
            [GOTO, {"action": "assertTitle", "text": "a", "equals": "b"}],
            [
                (
                    "config.steps[1].text",
                    "assertTitle needs exactly one of text (contains) or equals",
                )
            ],
            id="title-both",
        ),
        pytest.param(
            [GOTO, {"action": "waitForSelector", "selector": "a", "state": "gone"}],
            [("config.steps[1].state", "must be one of: attached, detached, visible, hidden")],
            id="bad-state",
        ),
        pytest.param(
            [GOTO, {"action": "screenshot", "name": "../etc/passwd"}],
            [("config.steps[1].name", "must be 1-64 letters, digits, '-' or '_'")],
            id="screenshot-path",
        ),
        pytest.param(
            [GOTO, {"action": "click", "selector": "a", "timeoutMs": 0}],
            [("config.steps[1].timeoutMs", "must be a whole number from 1 to 300000")],
            id="zero-timeout",
        ),
        pytest.param(
            [GOTO, {"action": "click", "selector": "a", "timeoutMs": True}],
            [("config.steps[1].timeoutMs", "must be a whole number from 1 to 300000")],
            id="boolean-timeout",
        ),
        pytest.param(
            [GOTO, "click #a"],
            [("config.steps[1]", "must be an object with an action")],
            id="step-not-object",
        ),
        pytest.param(
            [GOTO] * 51,
            [("config.steps", "has 51 steps; at most 50 are allowed")],
            id="too-many",
        ),
    ],
)
def test_validate_steps_names_field_and_issue(steps: Any, expected: list[tuple[str, str]]) -> None:
    assert validate_steps(steps) == expected


def test_validate_config_checks_flags_and_steps() -> None:
    config = {"failOnConsoleErrors": "yes", "steps": [GOTO, {"action": "click"}]}
    assert validate_config(config) == [
        ("config.failOnConsoleErrors", "must be true or false"),
        ("config.steps[1].selector", "is required for click"),
    ]
    assert validate_config({}) == []
    assert validate_config({"failOnFailedRequests": True}) == []


def test_parse_steps_defaults_to_opening_the_monitor_url() -> None:
    assert parse_steps({}, "https://shop.example/") == [
        Step(index=1, action="goto", url="https://shop.example/")
    ]


def test_parse_steps_resolves_relative_urls_and_numbers_from_one() -> None:
    config = {
        "steps": [
            {"action": "goto", "url": "/login"},
            {"action": "waitForURL", "url": "/dashboard"},
            {"action": "fill", "selector": "#pass", "value": "hunter2", "timeoutMs": 900},
        ]
    }
    steps = parse_steps(config, "https://shop.example/home")
    assert [s.index for s in steps] == [1, 2, 3]
    assert steps[0].url == "https://shop.example/login"
    assert steps[1].url == "/dashboard", "waitForURL matches a substring, not a resolved URL"
    assert steps[2].timeout_ms == 900
    assert steps[2].describe() == "fill '#pass'", "a fill value may be a password: never shown"
