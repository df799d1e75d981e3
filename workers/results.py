"""Buffer finished runs and write them in batches, one transaction per batch.

A batch is written when the buffer reaches ``batch_size`` or ``flush_every_s`` after
the last write, whichever comes first. A failed write (database away) keeps the
results and retries; leases held meanwhile simply run out.
"""

from __future__ import annotations

import asyncio
import logging
import time

from store.db import Store
from store.outage import OutageLog
from store.results import OnBatch, RecordedResult, record_results
from telemetry.metrics import RESULT_BATCH, RESULT_WRITE, RESULT_WRITE_FAILURES

log = logging.getLogger(__name__)


class ResultWriter:
    def __init__(
        self,
        store: Store,
        *,
        on_batch: OnBatch | None = None,
        batch_size: int = 200,
        flush_every_s: float = 1.0,
    ) -> None:
        self._store = store
        self._on_batch = on_batch
        self._batch_size = batch_size
        self._flush_every_s = flush_every_s
        self._buffer: list[RecordedResult] = []
        self._full = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0
        self._outage = OutageLog(log, "result writer")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="vigil-result-writer")

    def add(self, item: RecordedResult) -> None:
        self._buffer.append(item)
        if len(self._buffer) >= self._batch_size:
            self._full.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def _loop(self) -> None:
        while not self._closing:
            try:
                async with asyncio.timeout(self._flush_every_s):
                    await self._full.wait()
            except TimeoutError:
                pass
            self._full.clear()
            try:
                await self.flush()
                self._outage.ok()
            except Exception as exc:
                # The batch stays buffered and is written again on the next pass.
                self._outage.failed(exc)

    async def flush(self) -> None:
        """Write everything buffered now; raises if the database refuses."""
        async with self._write_lock:
            while self._buffer:
                batch = self._buffer[: self._batch_size]
                del self._buffer[: len(batch)]
                began = time.perf_counter()
                try:
                    async with self._store.transaction() as session:
                        await record_results(session, batch, on_batch=self._on_batch)
                except BaseException:
                    self._buffer[:0] = batch
                    RESULT_WRITE_FAILURES.inc()
                    raise
                RESULT_WRITE.observe(time.perf_counter() - began)
                RESULT_BATCH.observe(len(batch))
                self.written += len(batch)

    async def close(self) -> None:
        """Stop the timer and write what is left (raises if that write fails).

        The loop is asked to finish, never cancelled: a write cancelled while
        committing may have committed, and writing its batch again would
        duplicate the results.
        """
        self._closing = True
        self._full.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
