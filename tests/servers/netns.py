"""A throwaway Linux network namespace with only loopback, for tests that need lost packets.

Packets sent inside it never leave the machine. Needs root (CAP_SYS_ADMIN and the
``ip`` tool); ``NetNamespace.start`` raises NamespaceUnavailable saying why not,
so a test can skip with that reason::

    with NetNamespace(sysctls={"net.ipv4.icmp_echo_ignore_all": "1"}) as ns:
        result = await ns.run(lambda: some_check(...))   # runs inside the namespace

``run`` executes the coroutine on its own event loop in a thread that has joined the
namespace (setns), so sockets it opens belong to the namespace.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000


class NamespaceUnavailable(RuntimeError):
    """This machine or user cannot create network namespaces."""


class NetNamespace:
    def __init__(self, *, sysctls: Mapping[str, str] | None = None) -> None:
        self.name = f"vigil-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.sysctls = dict(sysctls or {})
        self._created = False

    def start(self) -> NetNamespace:
        if shutil.which("ip") is None:
            raise NamespaceUnavailable("the 'ip' tool (iproute2) is not installed")
        self._ip("netns", "add", self.name)
        self._created = True
        try:
            self._ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
            for key, value in self.sysctls.items():
                path = "/proc/sys/" + key.replace(".", "/")
                self._ip("netns", "exec", self.name, "sh", "-c", f'echo "{value}" > {path}')
        except NamespaceUnavailable:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._created:
            subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)
            self._created = False

    def __enter__(self) -> NetNamespace:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``factory()`` to completion inside the namespace; returns its result."""
        return await asyncio.to_thread(self._run_in_thread, factory)

    def _run_in_thread(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        # A fresh thread per call: setns changes the calling thread for good.
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                self._join()
                outcome["value"] = asyncio.run(factory())
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=target, name=f"netns-{self.name}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        value: T = outcome["value"]
        return value

    def _join(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns into {self.name} failed: {os.strerror(err)}")
        finally:
            os.close(fd)

    def _ip(self, *args: str) -> None:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise NamespaceUnavailable(
                f"'ip {' '.join(args)}' failed: {done.stderr.strip() or done.returncode}"
            )
