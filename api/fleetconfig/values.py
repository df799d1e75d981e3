"""Small helpers for writing stored values into a document."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from api.fleetconfig.references import escape
from store.clock import iso_ms


def escaped(value: Any) -> Any:
    """``value`` with every ``${`` in its string values written as ``$${``, mappings sorted.

    Keys are not escaped: references resolve in values only.
    """
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return {str(k): escaped(v) for k, v in sorted_keys(value).items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value


def sorted_keys(value: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in one order whatever the store kept (PostgreSQL's JSONB reorders them)."""
    return {k: value[k] for k in sorted(value)}


def time_text(value: datetime) -> str:
    """Milliseconds as the API writes times; finer only when the stored time has it."""
    if value.microsecond % 1000 == 0:
        text = iso_ms(value)
        assert text is not None
        return text
    return value.isoformat().replace("+00:00", "Z")
