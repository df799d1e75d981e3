"""The shared assertion module, the JSON path subset, and HTTP/TCP config validation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from checks import jsonpath
from checks.assertions import (
    Observed,
    evaluate,
    expect_keyword,
    expect_status,
    validate_assertions,
)
from checks.http_config import validate_config

BODY = json.dumps(
    {
        "data": {
            "status": "degraded",
            "count": 3,
            "ratio": 0.5,
            "ok": False,
            "none": None,
            "tags": ["a", "b"],
            "items": [{"id": 7}, {"id": 9}],
            "odd key": "x",
        }
    }
)


def observed(**overrides: Any) -> Observed:
    fields: dict[str, Any] = {
        "status_code": 200,
        "response_time_ms": 812.4,
        "headers": httpx.Headers({"Content-Type": "text/html; charset=utf-8", "X-Id": "42"}),
        "body": BODY,
    }
    fields.update(overrides)
    return Observed(**fields)


def one(spec: dict[str, Any], seen: Observed | None = None) -> tuple[bool, str | None]:
    [outcome] = evaluate([spec], seen or observed())
    return outcome.passed, outcome.message


# --- expected status and keyword --------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "message"),
    [
        pytest.param(200, None, None, id="2xx-default"),
        pytest.param(204, None, None, id="204-default"),
        pytest.param(503, None, "Expected a 2xx status, got 503", id="503-default"),
        pytest.param(301, None, "Expected a 2xx status, got 301", id="3xx-default"),
        pytest.param(200, 200, None, id="exact"),
        pytest.param(503, 200, "Expected status 200, got 503", id="mismatch"),
    ],
)
def test_expect_status_messages(actual: int, expected: int | None, message: str | None) -> None:
    outcome = expect_status(actual, expected)
    assert outcome.passed is (message is None)
    assert outcome.message == message
    assert outcome.actual == actual


def test_expect_keyword_found_and_missing() -> None:
    assert expect_keyword("all ok here", "ok").passed
    missing = expect_keyword("all fine", "ok")
    assert not missing.passed
    assert missing.message == "Keyword 'ok' not found"
    truncated = expect_keyword("x" * 10, "ok", truncated=True)
    assert truncated.message == "Keyword 'ok' not found in the first 10 bytes of the body"


# --- each assertion type and operator ---------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "passed", "message"),
    [
        pytest.param({"type": "status_code", "operator": "equals", "value": "200"}, True, None),
        pytest.param(
            {"type": "status_code", "operator": "equals", "value": 201},
            False,
            "Assertion failed: status code equals 201, got 200",
        ),
        pytest.param({"type": "status_code", "operator": "not_equals", "value": "500"}, True, None),
        pytest.param(
            {"type": "status_code", "operator": "not_equals", "value": "200"},
            False,
            "Assertion failed: status code does not equal 200, got 200",
        ),
        pytest.param(
            {"type": "status_code", "operator": "greater_than", "value": "199"}, True, None
        ),
        pytest.param(
            {"type": "status_code", "operator": "less_than", "value": "200"},
            False,
            "Assertion failed: status code less than 200, got 200",
        ),
        pytest.param(
            {"type": "response_time", "operator": "less_than", "value": "500"},
            False,
            "Assertion failed: response time less than 500 ms, got 812 ms",
        ),
        pytest.param(
            {"type": "response_time", "operator": "greater_than", "value": 800}, True, None
        ),
        pytest.param(
            {"type": "header", "name": "content-type", "operator": "contains", "value": "json"},
            False,
            "Assertion failed: header content-type contains 'json', got 'text/html; charset=utf-8'",
        ),
        pytest.param(
            {"type": "header", "name": "X-ID", "operator": "equals", "value": "42"}, True, None
        ),
        pytest.param(
            {"type": "header", "name": "x-id", "operator": "not_equals", "value": "42"},
            False,
            "Assertion failed: header x-id does not equal '42', got '42'",
        ),
        pytest.param(
            {"type": "header", "name": "x-missing", "operator": "equals", "value": "1"},
            False,
            "Assertion failed: header x-missing equals '1', got no such header",
        ),
        pytest.param(
            {"type": "header", "name": "x-missing", "operator": "not_equals", "value": "1"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"},
            False,
            "Assertion failed: $.data.status equals 'ok', got 'degraded'",
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.status", "operator": "not_equals", "value": "ok"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.status", "operator": "contains", "value": "grad"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.count", "operator": "equals", "value": "3"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.count", "operator": "equals", "value": 4},
            False,
            "Assertion failed: $.data.count equals '4', got 3",
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.ratio", "operator": "equals", "value": 0.5},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.ok", "operator": "equals", "value": "false"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.ok", "operator": "equals", "value": True},
            False,
            "Assertion failed: $.data.ok equals 'true', got false",
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.none", "operator": "equals", "value": "null"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.tags", "operator": "contains", "value": "b"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.tags", "operator": "contains", "value": "c"},
            False,
            'Assertion failed: $.data.tags contains \'c\', got ["a","b"]',
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data", "operator": "contains", "value": "count"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.items[1].id", "operator": "equals", "value": 9},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.items[-1].id", "operator": "equals", "value": 9},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data['odd key']", "operator": "equals", "value": "x"},
            True,
            None,
        ),
        pytest.param(
            {"type": "json_path", "path": "$.data.items[5].id", "operator": "equals", "value": 1},
            False,
            "Assertion failed: $.data.items[5].id equals '1', got nothing (no value at that path)",
        ),
        pytest.param(
            {"type": "json_path", "path": "$.nope", "operator": "not_equals", "value": "x"},
            True,
            None,
        ),
    ],
)
def test_evaluate_each_operator(spec: dict[str, Any], passed: bool, message: str | None) -> None:
    assert one(spec) == (passed, message)


def test_evaluate_json_path_on_a_non_json_body() -> None:
    spec = {"type": "json_path", "path": "$.status", "operator": "not_equals", "value": "down"}
    assert one(spec, observed(body="<html>oops</html>")) == (
        False,
        "Assertion failed: $.status does not equal 'down', but the body is not JSON",
    )


def test_evaluate_status_code_without_a_response() -> None:
    spec = {"type": "status_code", "operator": "equals", "value": 200}
    assert one(spec, observed(status_code=None)) == (
        False,
        "Assertion failed: status code equals 200, got no response",
    )


def test_evaluate_keeps_expected_and_actual_for_details() -> None:
    specs = [
        {"type": "json_path", "path": "$.data.count", "operator": "equals", "value": "3"},
        {"type": "header", "name": "X-Id", "operator": "equals", "value": "41"},
    ]
    details = [o.as_detail() for o in evaluate(specs, observed())]
    assert details == [
        {
            "type": "json_path",
            "operator": "equals",
            "expected": "3",
            "actual": 3,
            "passed": True,
            "path": "$.data.count",
        },
        {
            "type": "header",
            "operator": "equals",
            "expected": "41",
            "actual": "42",
            "passed": False,
            "name": "X-Id",
        },
    ]


# --- JSON path subset ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        pytest.param("$", [], id="root"),
        pytest.param("$.a.b[0].c", ["a", "b", 0, "c"], id="mixed"),
        pytest.param("$[2]", [2], id="top-index"),
        pytest.param("$.items[-1]", ["items", -1], id="negative"),
        pytest.param("$['a.b'][\"c\"]", ["a.b", "c"], id="quoted"),
    ],
)
def test_jsonpath_parse(path: str, steps: list[jsonpath.Step]) -> None:
    assert jsonpath.parse(path) == steps


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("data.status", "must start with $, like $.data.status", id="no-dollar"),
        pytest.param("$.a[x]", "cannot read '[x]' (use .name, [0] or ['name'])", id="bad-index"),
        pytest.param("$..a", "cannot read '..a' (use .name, [0] or ['name'])", id="descent"),
    ],
)
def test_jsonpath_parse_rejects_outside_the_subset(path: str, message: str) -> None:
    with pytest.raises(jsonpath.JsonPathError) as caught:
        jsonpath.parse(path)
    assert str(caught.value) == message


def test_jsonpath_find_distinguishes_null_from_missing() -> None:
    document = {"a": None, "b": [1]}
    assert jsonpath.find(document, ["a"]) == (True, None)
    assert jsonpath.find(document, ["c"]) == (False, None)
    assert jsonpath.find(document, ["b", 1]) == (False, None)
    assert jsonpath.find(document, ["b", "x"]) == (False, None)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "issues"),
    [
        pytest.param(
            [
                {"type": "status_code", "operator": "equals", "value": "200"},
                {"type": "response_time", "operator": "less_than", "value": "500"},
                {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"},
                {"type": "header", "name": "content-type", "operator": "contains", "value": "j"},
            ],
            [],
            id="reference-example",
        ),
        pytest.param({}, [("config.assertions", "must be a list of assertion objects")], id="obj"),
        pytest.param(
            ["x"],
            [("config.assertions[0]", "must be an object with type, operator and value")],
            id="item",
        ),
        pytest.param(
            [{"type": "body", "operator": "equals", "value": "1"}],
            [
                (
                    "config.assertions[0].type",
                    "must be one of status_code, response_time, json_path, header",
                )
            ],
            id="type",
        ),
        pytest.param(
            [
                {"type": "status_code", "operator": "equals", "value": "200"},
                {"type": "response_time", "operator": "equals", "value": "500"},
            ],
            [("config.assertions[1].operator", "must be one of less_than, greater_than")],
            id="operator",
        ),
        pytest.param(
            [{"type": "status_code", "operator": "equals", "value": "abc"}],
            [("config.assertions[0].value", "must be a status code between 100 and 599")],
            id="status-value",
        ),
        pytest.param(
            [{"type": "status_code", "operator": "equals", "value": 700}],
            [("config.assertions[0].value", "must be a status code between 100 and 599")],
            id="status-range",
        ),
        pytest.param(
            [{"type": "response_time", "operator": "less_than", "value": "-1"}],
            [("config.assertions[0].value", "must be a number of milliseconds, 0 or more")],
            id="time-value",
        ),
        pytest.param(
            [{"type": "response_time", "operator": "less_than", "value": True}],
            [("config.assertions[0].value", "must be a number of milliseconds, 0 or more")],
            id="bool-is-not-a-number",
        ),
        pytest.param(
            [{"type": "header", "operator": "equals", "value": "1"}],
            [("config.assertions[0].name", "is required: the response header to read")],
            id="header-name",
        ),
        pytest.param(
            [{"type": "json_path", "operator": "equals", "value": "1"}],
            [("config.assertions[0].path", "is required: a JSON path like $.data.status")],
            id="path-missing",
        ),
        pytest.param(
            [{"type": "json_path", "path": "status", "operator": "equals", "value": "1"}],
            [("config.assertions[0].path", "must start with $, like $.data.status")],
            id="path-bad",
        ),
        pytest.param(
            [{"type": "json_path", "path": "$.a", "operator": "equals"}],
            [("config.assertions[0].value", "is required")],
            id="value-missing",
        ),
        pytest.param(
            [{"type": "json_path", "path": "$.a", "operator": "equals", "value": {"a": 1}}],
            [("config.assertions[0].value", "must be a string, number or boolean")],
            id="value-object",
        ),
        pytest.param(
            [{"type": "status_code", "operator": "x", "value": 1}],
            [
                (
                    "config.assertions[0].operator",
                    "must be one of equals, not_equals, greater_than, less_than",
                ),
                ("config.assertions[0].value", "must be a status code between 100 and 599"),
            ],
            id="several",
        ),
    ],
)
def test_validate_assertions(raw: Any, issues: list[tuple[str, str]]) -> None:
    assert validate_assertions(raw) == issues


def test_validate_assertions_limits_count() -> None:
    many = [{"type": "status_code", "operator": "equals", "value": 200}] * 51
    assert validate_assertions(many) == [("config.assertions", "must have at most 50 items")]


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param(
            {
                "method": "POST",
                "headers": {"Authorization": "Bearer token"},
                "body": '{"key": "value"}',
                "followRedirects": False,
                "maxRedirects": 0,
                "verifyTls": False,
            },
            [],
            id="valid",
        ),
        pytest.param(
            {"method": "FETCH"},
            [("config.method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")],
            id="method",
        ),
        pytest.param(
            {"headers": ["X-A: 1"]},
            [
                (
                    "config.headers",
                    'must be an object of name: value strings, like {"X-Key": "1"}',
                )
            ],
            id="headers-list",
        ),
        pytest.param(
            {"headers": {"X-A": 1, "Bad Name": "v", "X-B": "a\r\nInjected: 1", "X-C": "café"}},
            [
                ("config.headers.X-A", "must be a string"),
                ("config.headers.Bad Name", "is not a valid header name"),
                ("config.headers.X-B", "must not contain line breaks"),
                ("config.headers.X-C", "must be ASCII text (encode other characters)"),
            ],
            id="header-values",
        ),
        pytest.param(
            {"body": {"key": "value"}},
            [("config.body", "must be a string (send JSON as text)")],
            id="body",
        ),
        pytest.param(
            {"followRedirects": "yes", "verifyTls": 1},
            [
                ("config.followRedirects", "must be true or false"),
                ("config.verifyTls", "must be true or false"),
            ],
            id="flags",
        ),
        pytest.param(
            {"maxRedirects": 21},
            [("config.maxRedirects", "must be a whole number from 0 to 20")],
            id="max-redirects",
        ),
        pytest.param(
            {"maxRedirects": True},
            [("config.maxRedirects", "must be a whole number from 0 to 20")],
            id="max-redirects-bool",
        ),
        pytest.param(
            {"assertions": [{"type": "header", "operator": "equals", "value": "x"}]},
            [("config.assertions[0].name", "is required: the response header to read")],
            id="assertions",
        ),
    ],
)
def test_validate_http_config(config: dict[str, Any], issues: list[tuple[str, str]]) -> None:
    assert validate_config(config, monitor_type="HTTP") == issues


def test_validate_tcp_config() -> None:
    assert validate_config({"send": "PING\r\n", "expect": "+PONG"}, monitor_type="TCP") == []
    assert validate_config({"send": 1, "expect": ["x"]}, monitor_type="TCP") == [
        ("config.send", "must be a string"),
        ("config.expect", "must be a string"),
    ]


def test_validate_config_leaves_other_types_alone() -> None:
    assert validate_config({"recordType": "MX"}, monitor_type="DNS") == []
