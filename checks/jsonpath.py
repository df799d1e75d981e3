"""The JSON path subset assertions use: ``$``, ``.name``, ``[0]``, ``[-1]``, ``['name']``."""

from __future__ import annotations

import re
from typing import Any

Step = str | int

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]'"]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]"""
)

_MISSING = object()


class JsonPathError(ValueError):
    """A path outside the supported subset; the message says where."""


def parse(path: str) -> list[Step]:
    """``"$.data.items[0].id"`` -> ``["data", "items", 0, "id"]``."""
    if not path.startswith("$"):
        raise JsonPathError("must start with $, like $.data.status")
    steps: list[Step] = []
    pos = 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise JsonPathError(f"cannot read {path[pos:]!r} (use .name, [0] or ['name'])")
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["quoted"])
        pos = match.end()
    return steps


def find(document: Any, steps: list[Step]) -> tuple[bool, Any]:
    """(True, value) at the path, or (False, None) when the path leads nowhere."""
    current = document
    for step in steps:
        current = _step_into(current, step)
        if current is _MISSING:
            return False, None
    return True, current


def _step_into(value: Any, step: Step) -> Any:
    if isinstance(step, int):
        if isinstance(value, list) and -len(value) <= step < len(value):
            return value[step]
        return _MISSING
    if isinstance(value, dict):
        return value.get(step, _MISSING)
    return _MISSING
