"""Real ``vigil`` processes for fault tests: started with the worktree's code, logs
kept per process, killed by their own pid."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class VigilProcess:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash or the OOM killer would end it."""
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP: the process stays up but does nothing until ``resume``."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    async def terminate(self, *, within_s: float = 20.0) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(within_s):
            return await self.proc.wait()


class Fleet:
    """Starts processes against one store; whatever is still running at the end is killed."""

    def __init__(self, database_url: str, logs: Path, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.logs = logs
        self.env = env or {}
        self.started: list[VigilProcess] = []

    async def start(self, name: str, *args: str, **env: str) -> VigilProcess:
        log_path = self.logs / f"{name}.log"
        full_env = {
            **os.environ,
            "VIGIL_DATABASE_URL": self.database_url,
            "VIGIL_LOG_LEVEL": "info",
            **self.env,
            **env,
        }
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "workers.cli",
                *args,
                cwd=ROOT,
                env=full_env,
                stdout=log,
                stderr=log,
            )
        p = VigilProcess(name, proc, log_path)
        self.started.append(p)
        return p

    async def close(self) -> None:
        for p in self.started:
            if p.proc.returncode is None:
                p.proc.kill()
                await p.proc.wait()


@asynccontextmanager
async def fleet(
    database_url: str, logs: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Fleet]:
    f = Fleet(database_url, logs, env)
    try:
        yield f
    finally:
        await f.close()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within_s: float, what: str, every_s: float = 0.1
) -> float:
    """Poll ``condition`` until true; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await condition():
        if loop.time() - start > within_s:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(every_s)
    return loop.time() - start
