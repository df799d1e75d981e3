"""Telling a store outage from a bug, and logging one calmly.

While the database is away every loop of every process fails twice a second; a
traceback each time buries the one line that matters. ``OutageLog`` writes one
line when the store goes away, a summary at most every ``summary_every_s`` while it
stays away, and one line when it is back. Errors that are not the store's keep
their traceback (once per distinct error per summary period).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
import sqlalchemy.exc
from psycopg_pool import PoolTimeout

SUMMARY_EVERY_S = 30.0


def is_store_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the store cannot be reached (not that a query is wrong)."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | PoolTimeout
        | sqlalchemy.exc.TimeoutError
        | ConnectionError,
    )


def describe(exc: BaseException) -> str:
    """The first line of the driver's message: enough to see why, without a traceback."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:300]


class OutageLog:
    """One per duty (a claim loop, a writer...): ``failed(exc)`` on each failure,
    ``ok()`` on each success. ``ok()`` answers True once, when an outage ends."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        summary_every_s: float = SUMMARY_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._what = what
        self._every = summary_every_s
        self._monotonic = monotonic
        self._since: float | None = None
        self._last_line = 0.0
        self._failures = 0
        self._last_error = ""
        self._bugs: dict[str, float] = {}

    @property
    def in_outage(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        now = self._monotonic()
        if not is_store_unavailable(exc):
            key = f"{type(exc).__name__}: {exc}"
            if now - self._bugs.get(key, -self._every) >= self._every:
                self._bugs[key] = now
                self._log.error("%s failed", self._what, exc_info=exc)
            return
        self._failures += 1
        self._last_error = describe(exc)
        if self._since is None:
            self._since = self._last_line = now
            self._log.warning(
                "%s: the store is unavailable (%s); retrying, a summary follows every %g s",
                self._what,
                self._last_error,
                self._every,
            )
        elif now - self._last_line >= self._every:
            self._last_line = now
            self._log.warning(
                "%s: the store is still unavailable after %.0f s (%d failed tries; last: %s)",
                self._what,
                now - self._since,
                self._failures,
                self._last_error,
            )

    def ok(self) -> bool:
        if self._since is None:
            return False
        self._log.warning(
            "%s: the store is back after %.0f s (%d failed tries meanwhile)",
            self._what,
            self._monotonic() - self._since,
            self._failures,
        )
        self._since = None
        self._failures = 0
        return True
