"""The last good rendering of each public document, for when the store is slow or down.

A status page is read most when things are failing, the store included. Every
rendering that succeeds is kept (in this process's memory, by path); a request the
store does not answer within ``timeout_s`` (or that fails) is answered with the kept
copy and its age (with nothing kept, the request waits for the store). A rendering
younger than ``fresh_s`` is served without asking the store at all, so a crowd
reading the page during an outage costs one query per ``fresh_s``.

Each rendering is also kept gzipped (once, when made): a big page's 600 KB of HTML
is 13 KB so, which is what a phone on a bad network during an outage needs.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


# Smaller documents (badges, most JSON) are sent as they are.
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class Rendering:
    body: bytes
    media_type: str
    made_at: float  # monotonic seconds
    etag: str
    # The body gzipped, None when it is too small to be worth it.
    gzipped: bytes | None = None


@dataclass(frozen=True)
class Served:
    rendering: Rendering
    # Seconds since it was made when it is a kept copy served instead of a fresh one.
    stale_age_s: float | None


class StoreUnavailableError(Exception):
    """The store did not answer and nothing was kept for this path."""


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def gzip_etag(etag: str) -> str:
    """The ETag of the gzipped body: another representation, so another tag."""
    return etag[:-1] + '-gzip"'


def gzipped(body: bytes) -> bytes | None:
    """``body`` gzipped, or None below ``GZIP_MIN_BYTES``."""
    # mtime 0: the same body always gives the same bytes.
    return gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None


class RenderCache:
    def __init__(
        self, *, timeout_s: float, fresh_s: float, clock: Callable[[], float], limit: int = 5000
    ) -> None:
        self.timeout_s = timeout_s
        self.fresh_s = fresh_s
        self._clock = clock
        self._limit = limit
        self._kept: dict[str, Rendering] = {}

    def forget(self, key: str) -> None:
        self._kept.pop(key, None)

    async def get(
        self, key: str, produce: Callable[[], Awaitable[tuple[bytes, str] | None]]
    ) -> Served | None:
        """A fresh rendering, else the kept one; None when ``produce`` finds nothing."""
        kept = self._kept.get(key)
        now = self._clock()
        if kept is not None and now - kept.made_at < self.fresh_s:
            return Served(kept, None)
        try:
            # With nothing kept there is nothing better to answer: wait for the store.
            made = await (
                produce() if kept is None else asyncio.wait_for(produce(), timeout=self.timeout_s)
            )
        except Exception as exc:  # the store failed or is too slow: keep the page up
            if kept is None:
                log.warning("cannot render %s and none kept: %r", key, exc)
                raise StoreUnavailableError(str(exc) or type(exc).__name__) from exc
            log.warning("serving kept rendering of %s: %s", key, exc or type(exc).__name__)
            return Served(kept, self._clock() - kept.made_at)
        if made is None:
            self.forget(key)
            return None
        body, media_type = made
        rendering = Rendering(body, media_type, self._clock(), etag_of(body), gzipped(body))
        if len(self._kept) >= self._limit and key not in self._kept:
            self._kept.pop(next(iter(self._kept)))
        self._kept[key] = rendering
        return Served(rendering, None)
