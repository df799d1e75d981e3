"""Properties of the JSON path and assertion parsers, over generated input (hypothesis)."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks import jsonpath
from checks.assertions import OPERATORS, Observed, evaluate, validate_assertions

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.text(min_size=1, max_size=10)


def render(steps: list[str | int]) -> str:
    """A path for ``steps`` in the subset's syntax, written as a person would."""
    out = "$"
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step and not set(step) & set(".[]'\""):
            out += f".{step}"
        elif "'" not in step:
            out += f"['{step}']"
        else:
            out += f'["{step}"]'
    return out


@st.composite
def document_and_walk(draw: st.DrawFn) -> tuple[Any, list[str | int], Any]:
    """A document, a walk into it (steps), and the value the walk ends at."""
    document = draw(json_values)
    steps: list[str | int] = []
    here = document
    while isinstance(here, dict | list) and here and draw(st.booleans()):
        if isinstance(here, list):
            index = draw(st.integers(-len(here), len(here) - 1))
            steps.append(index)
            here = here[index]
        else:
            key = draw(st.sampled_from(sorted(here)))
            if "'" in key and '"' in key:
                break  # no quoting in the subset holds both quote characters
            steps.append(key)
            here = here[key]
    return document, steps, here


@PROFILE
@given(document_and_walk())
def test_jsonpath_finds_the_value_a_walk_ends_at(case: tuple[Any, list[str | int], Any]) -> None:
    document, steps, expected = case
    path = render(steps)

    assert jsonpath.parse(path) == steps
    found, value = jsonpath.find(document, jsonpath.parse(path))
    assert found
    assert value is expected or (isinstance(value, float) and math.isnan(value))


@PROFILE
@given(st.text(max_size=40))
def test_jsonpath_parse_takes_any_text_or_says_why(text: str) -> None:
    try:
        steps = jsonpath.parse(text)
    except jsonpath.JsonPathError as exc:
        assert str(exc)
        return
    assert text.startswith("$")
    assert all(isinstance(s, str | int) for s in steps)


@PROFILE
@given(json_values, st.lists(st.text(max_size=6) | st.integers(-5, 5), max_size=5))
def test_jsonpath_find_never_raises(document: Any, steps: list[str | int]) -> None:
    found, value = jsonpath.find(document, steps)
    assert found or value is None


assertion_specs = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*OPERATORS, "other"]) | json_values,
        "operator": st.sampled_from(
            ["equals", "not_equals", "contains", "less_than", "greater_than"]
        )
        | json_values,
        "value": json_values
        | st.sampled_from(["1e999", "-1e999", "nan", "inf", "200", " 200 ", "200.5", "-1"]),
        "path": st.sampled_from(["$.a", "$[0]", "$.a['b c']", "a", "$..a", ""]) | json_values,
        "name": st.sampled_from(["content-type", ""]) | json_values,
    },
)


@PROFILE
@given(st.lists(assertion_specs, max_size=4) | json_values)
def test_assertions_validate_any_json_and_valid_ones_evaluate(raw: Any) -> None:
    issues = validate_assertions(raw)

    assert all(isinstance(f, str) and isinstance(i, str) and i for f, i in issues)
    if not issues:
        observed = Observed(
            status_code=200,
            response_time_ms=12.5,
            headers={"content-type": "application/json"},
            body=json.dumps({"a": {"b c": 1}}),
        )
        outcomes = evaluate(raw, observed)
        assert len(outcomes) == len(raw)
        assert all(o.passed or o.message for o in outcomes)


@PROFILE
@given(st.integers(-(10**6), 10**6) | st.floats(allow_nan=True, allow_infinity=True))
def test_status_code_assertion_takes_whole_codes_100_to_599_only(number: float) -> None:
    spec = {"type": "status_code", "operator": "equals", "value": number}
    accepted = math.isfinite(number) and number == int(number) and 100 <= number <= 599

    assert (validate_assertions([spec]) == []) is accepted
    assert (validate_assertions([{**spec, "value": str(number)}]) == []) is accepted
