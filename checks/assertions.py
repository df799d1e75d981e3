"""The one place assertions are evaluated: status, keyword, and the reference's list.

An assertion is ``{type, operator, value, path?, name?}`` with
``type`` one of status_code, response_time, json_path, header. Every outcome keeps
the expected and the actual value, so a result can show *why* it failed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checks import jsonpath

OPERATORS: dict[str, tuple[str, ...]] = {
    "status_code": ("equals", "not_equals", "greater_than", "less_than"),
    "response_time": ("less_than", "greater_than"),
    "json_path": ("equals", "not_equals", "contains"),
    "header": ("equals", "not_equals", "contains"),
}
MAX_ASSERTIONS = 50

_VERB = {
    "equals": "equals",
    "not_equals": "does not equal",
    "greater_than": "greater than",
    "less_than": "less than",
    "contains": "contains",
}
_NOT_JSON = object()


@dataclass(frozen=True)
class Observed:
    """What a check saw, as assertions need it. ``headers`` must match names case-blind."""

    status_code: int | None
    response_time_ms: float
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    body_truncated: bool = False


@dataclass(frozen=True)
class Outcome:
    """One assertion's verdict with both sides; ``message`` is set when it failed."""

    type: str
    operator: str
    expected: Any
    actual: Any
    passed: bool
    message: str | None = None
    path: str | None = None
    name: str | None = None

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "type": self.type,
            "operator": self.operator,
            "expected": self.expected,
            "actual": self.actual,
            "passed": self.passed,
        }
        if self.path is not None:
            detail["path"] = self.path
        if self.name is not None:
            detail["name"] = self.name
        return detail


def expect_status(actual: int, expected: int | None) -> Outcome:
    """``expected`` None means any 2xx."""
    if expected is None:
        passed = 200 <= actual <= 299
        message = None if passed else f"Expected a 2xx status, got {actual}"
        return Outcome("expected_status", "2xx", "2xx", actual, passed, message)
    passed = actual == expected
    message = None if passed else f"Expected status {expected}, got {actual}"
    return Outcome("expected_status", "equals", expected, actual, passed, message)


def expect_keyword(body: str, keyword: str, *, truncated: bool = False) -> Outcome:
    """The keyword must appear in the (possibly truncated) body text."""
    passed = keyword in body
    message: str | None = None
    if not passed:
        where = f" in the first {len(body.encode())} bytes of the body" if truncated else ""
        message = f"Keyword {keyword!r} not found{where}"
    return Outcome("keyword", "contains", keyword, None, passed, message)


def evaluate(assertions: Sequence[Mapping[str, Any]], observed: Observed) -> list[Outcome]:
    """Every assertion's outcome, in order. Assumes ``validate_assertions`` passed."""
    document: Any = None
    parsed = False
    outcomes = []
    for spec in assertions:
        kind = spec["type"]
        if kind == "json_path" and not parsed:
            document, parsed = _parse_json(observed.body), True
        outcomes.append(_evaluate_one(spec, observed, document))
    return outcomes


def _parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _evaluate_one(spec: Mapping[str, Any], observed: Observed, document: Any) -> Outcome:
    kind, op, value = spec["type"], spec["operator"], spec["value"]
    if kind == "status_code":
        return _numeric(kind, op, int(float(value)), observed.status_code, label="status code")
    if kind == "response_time":
        return _numeric(
            kind, op, float(value), round(observed.response_time_ms), label="response time"
        )
    if kind == "header":
        return _header(op, _text(value), str(spec["name"]), observed.headers)
    return _json_path(op, _text(value), str(spec["path"]), document)


def _numeric(kind: str, op: str, expected: float, actual: float | None, *, label: str) -> Outcome:
    unit = " ms" if kind == "response_time" else ""
    shown = f"{expected:g}{unit}"
    if actual is None:
        failure = f"Assertion failed: {label} {_VERB[op]} {shown}, got no response"
        return Outcome(kind, op, expected, None, False, failure)
    passed = {
        "equals": actual == expected,
        "not_equals": actual != expected,
        "greater_than": actual > expected,
        "less_than": actual < expected,
    }[op]
    message: str | None = None
    if not passed:
        message = f"Assertion failed: {label} {_VERB[op]} {shown}, got {actual:g}{unit}"
    return Outcome(kind, op, expected, actual, passed, message)


def _header(op: str, expected: str, name: str, headers: Mapping[str, str]) -> Outcome:
    actual = headers.get(name)
    if actual is None:
        passed = op == "not_equals"
        got = "no such header"
    else:
        passed = _compare_text(op, expected, actual)
        got = _quoted(actual)
    message: str | None = None
    if not passed:
        message = f"Assertion failed: header {name} {_VERB[op]} {_quoted(expected)}, got {got}"
    return Outcome("header", op, expected, actual, passed, message, name=name)


def _json_path(op: str, expected: str, path: str, document: Any) -> Outcome:
    prefix = f"Assertion failed: {path} {_VERB[op]} {_quoted(expected)}"
    if document is _NOT_JSON:
        failure = f"{prefix}, but the body is not JSON"
        return Outcome("json_path", op, expected, None, False, failure, path=path)
    found, actual = jsonpath.find(document, jsonpath.parse(path))
    if not found:
        passed = op == "not_equals"
        missing = None if passed else f"{prefix}, got nothing (no value at that path)"
        return Outcome("json_path", op, expected, None, passed, missing, path=path)
    if op == "contains" and isinstance(actual, list):
        passed = any(_text(item) == expected for item in actual)
    elif op == "contains" and isinstance(actual, dict):
        passed = expected in actual
    else:
        passed = _compare_text(op, expected, _text(actual))
    message = None if passed else f"{prefix}, got {_shown(actual)}"
    return Outcome("json_path", op, expected, actual, passed, message, path=path)


def _compare_text(op: str, expected: str, actual: str) -> bool:
    if op == "equals":
        return actual == expected
    if op == "not_equals":
        return actual != expected
    return expected in actual


def _text(value: Any) -> str:
    """A JSON value as the text a person would type in an assertion's value."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _quoted(text: str) -> str:
    return "'" + (text if len(text) <= 200 else text[:200] + "...") + "'"


def _shown(value: Any) -> str:
    return _quoted(value) if isinstance(value, str) else _quoted(_text(value))[1:-1]


def validate_assertions(raw: Any, *, field: str = "config.assertions") -> list[tuple[str, str]]:
    """(field, issue) pairs for everything wrong with a list of assertions."""
    if not isinstance(raw, list):
        return [(field, "must be a list of assertion objects")]
    if len(raw) > MAX_ASSERTIONS:
        return [(field, f"must have at most {MAX_ASSERTIONS} items")]
    issues: list[tuple[str, str]] = []
    for i, spec in enumerate(raw):
        issues.extend(_validate_one(spec, f"{field}[{i}]"))
    return issues


def _validate_one(spec: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(spec, dict):
        return [(where, "must be an object with type, operator and value")]
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in OPERATORS:  # a list is no dict key
        return [(f"{where}.type", "must be one of " + ", ".join(OPERATORS))]
    issues: list[tuple[str, str]] = []
    if spec.get("operator") not in OPERATORS[kind]:
        issues.append((f"{where}.operator", "must be one of " + ", ".join(OPERATORS[kind])))
    value_issue = _value_issue(kind, spec.get("value"), present="value" in spec)
    if value_issue:
        issues.append((f"{where}.value", value_issue))
    if kind == "json_path":
        issues.extend(_path_issues(spec.get("path"), f"{where}.path"))
    if kind == "header" and not (isinstance(spec.get("name"), str) and spec["name"].strip()):
        issues.append((f"{where}.name", "is required: the response header to read"))
    return issues


def _value_issue(kind: str, value: Any, *, present: bool) -> str | None:
    if not present or value is None:
        return "is required"
    if kind == "status_code":
        number = _as_number(value)
        if number is None or number != int(number) or not 100 <= number <= 599:
            return "must be a status code between 100 and 599"
    elif kind == "response_time":
        number = _as_number(value)
        if number is None or number < 0:
            return "must be a number of milliseconds, 0 or more"
    elif not isinstance(value, str | int | float | bool):
        return "must be a string, number or boolean"
    elif isinstance(value, str) and len(value) > 1000:
        return "must be at most 1000 characters"
    return None


def _as_number(value: Any) -> float | None:
    """A finite number, or None: '1e999', 'nan' and 'inf' are no threshold anyone meant."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _path_issues(path: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(path, str) or not path:
        return [(where, "is required: a JSON path like $.data.status")]
    try:
        jsonpath.parse(path)
    except jsonpath.JsonPathError as exc:
        return [(where, str(exc))]
    return []
