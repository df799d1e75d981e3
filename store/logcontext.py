"""Ids in context for log lines: request, monitor, check slot, incident, alert, worker.

Each id lives in a ``ContextVar``, so an asyncio task sees the ids bound where it was
created and a concurrent task's ids never leak into it. The JSON log format
(``VIGIL_LOG_FORMAT=json``) adds every bound id to each line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Log field name -> its variable. The names are the JSON keys of a log line.
FIELDS: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"vigil_log_{name}", default=None)
    for name in ("requestId", "workerId", "monitorId", "checkSlot", "incidentId", "alertEventId")
}


def current() -> dict[str, str]:
    """The ids bound in this context, by log field name."""
    return {name: value for name, var in FIELDS.items() if (value := var.get()) is not None}


def bind_ids(**ids: str | None) -> None:
    """Bind ids for the rest of this context: call it inside ``Context.run`` for a
    task's whole life (``asyncio.create_task(..., context=...)``)."""
    for name, value in ids.items():
        FIELDS[name].set(value)


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind ids (``monitorId=...``) for the duration of a ``with`` block."""
    tokens = [(FIELDS[name], FIELDS[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
