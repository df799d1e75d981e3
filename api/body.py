"""Reading JSON request bodies with an error a person can act on.

Every JSON body goes through ``read_json``, which refuses, as 400 naming the field,
what either store or the response encoder would later choke on: NaN and Infinity
(SQLite stored them and the response then failed), numbers that overflow to
infinity (``1e999``), integers wider than 64 bits, NUL characters (PostgreSQL
refuses them in text and JSONB, SQLite keeps them), lone UTF-16 surrogates (not
encodable as UTF-8), and nesting deeper than ``MAX_DEPTH``. So both stores see the
same values and a request that fails has written nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request

from api.errors import ApiError, FieldIssue, invalid

MAX_BODY = 1_000_000
# Deep enough for any monitor or channel config (assertions sit at depth 4).
MAX_DEPTH = 32
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _no_constant(name: str) -> Any:
    raise ApiError(
        400,
        f"Request body contains {name}, which JSON does not allow; send a number or null",
        fields=[("body", f"must not contain {name}")],
    )


def field_path(parts: list[str | int]) -> str:
    """``["config", "assertions", 0, "value"]`` -> ``config.assertions[0].value``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def text_issue(text: str) -> str | None:
    """Why a string cannot be stored as it is, or None."""
    if "\x00" in text:
        return "must not contain NUL (\\u0000) characters"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "must not contain lone UTF-16 surrogates (invalid Unicode)"
    return None


def value_issues(document: Any) -> list[FieldIssue]:
    """Everything in a parsed JSON document that the stores cannot keep faithfully."""
    issues: list[FieldIssue] = []
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack and len(issues) < 20:
        value, where = stack.pop()
        if len(where) > MAX_DEPTH:
            issues.append((field_path(where[:MAX_DEPTH]), f"nests deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if (problem := text_issue(key)) is not None:
                    issues.append((field_path([*where, repr(key)]), f"has a key that {problem}"))
                    continue
                stack.append((item, [*where, key]))
        elif isinstance(value, list):
            stack.extend((item, [*where, i]) for i, item in enumerate(value))
        elif isinstance(value, str):
            if (problem := text_issue(value)) is not None:
                issues.append((field_path(where), problem))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                issues.append(
                    (field_path(where), "must fit in 64 bits (at most 9223372036854775807)")
                )
        elif isinstance(value, float) and not math.isfinite(value):
            issues.append((field_path(where), "must be a finite number (it overflows to infinity)"))
    return sorted(issues)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"Request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(
            400,
            "Request body is empty; send a JSON object",
            fields=[("body", "is empty")],
        )
    try:
        document = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise invalid([("body", f"nests deeper than {MAX_DEPTH} levels")]) from None
    except ValueError as exc:
        raise ApiError(
            400, f"Request body is not valid JSON: {exc}", fields=[("body", "is not valid JSON")]
        ) from None
    if issues := value_issues(document):
        raise invalid(issues)
    return document


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(
            400, "Request body must be a JSON object", fields=[("body", "must be an object")]
        )
    return body
