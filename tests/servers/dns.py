"""A real DNS server on loopback (UDP and TCP on one ephemeral port) for tests.

The server runs its own asyncio loop in a background thread, so sync tests and
async tests (on any loop) use it the same way::

    zone = {
        "api.test.": {"A": ["127.0.0.1"], "MX": ["10 mail.test."]},
        "txt.test.": {"TXT": ['"v=spf1 -all"']},
        "www.test.": {"CNAME": ["api.test."]},
    }
    with DnsServer(zone, ttl=60) as dns_server:       # or: async with DnsServer(zone)
        dns_server.delay("api.test.", 0.3)            # answer after 0.3 s
        dns_server.rcode("bad.test.", "SERVFAIL")     # answer with this rcode
        dns_server.drop("gone.test.")                 # never answer: client times out
        dns_server.lose_first("flaky.test.", 1)       # ignore the first UDP datagram
        ... resolve against dns_server.address ("127.0.0.1:<port>") ...
        assert ("api.test.", "A") in dns_server.queries

Zone values are record texts in presentation format, relative names taken from the
root. Supported types: A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR (any type
dnspython can parse works). Names are case-insensitive; a missing trailing dot is
added. Answers:

- a name not in the zone: NXDOMAIN;
- a name without the asked type: NOERROR with an empty answer (NODATA);
- a name with a CNAME asked for another type: the CNAME, then the target's records
  when the target is in the zone, else NXDOMAIN with the CNAME (as bind answers);
- a UDP answer larger than the client's limit (512 bytes, or its EDNS size) is sent
  truncated (TC bit) so the client retries over TCP.

``delay``/``rcode``/``drop``/``lose_first`` and ``set_records`` may be called while the server runs;
a delayed answer does not hold up answers to other queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Coroutine, Mapping, Sequence
from types import TracebackType
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Zone = Mapping[str, Mapping[str, Sequence[str]]]

_START_TIMEOUT_S = 5.0
_MAX_CNAME_CHAIN = 8


def _key(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


class DnsServer:
    """An authoritative DNS server for a fixed in-memory zone, on UDP and TCP."""

    def __init__(self, zone: Zone, *, ttl: int = 300, host: str = "127.0.0.1") -> None:
        self.host = host
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []
        self._zone: dict[str, dict[str, list[str]]] = {}
        for name, records in zone.items():
            for rdtype, values in records.items():
                self.set_records(name, rdtype, values)
        self._delays: dict[str, float] = {}
        self._rcodes: dict[str, dns.rcode.Rcode] = {}
        self._dropped: set[str] = set()
        self._to_lose: dict[str, int] = {}
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    # -- behaviour -------------------------------------------------------------

    def set_records(self, name: str, rdtype: str, values: Sequence[str]) -> None:
        """Replace the records of one type at one name (an empty list removes them)."""
        records = self._zone.setdefault(_key(name), {})
        if values:
            records[rdtype.upper()] = list(values)
        else:
            records.pop(rdtype.upper(), None)

    def delay(self, name: str, seconds: float) -> None:
        """Answer queries for ``name`` only after ``seconds``."""
        self._delays[_key(name)] = seconds

    def rcode(self, name: str, rcode: str) -> None:
        """Answer queries for ``name`` with this rcode ("NXDOMAIN", "SERVFAIL", "REFUSED")."""
        self._rcodes[_key(name)] = dns.rcode.from_text(rcode)

    def drop(self, name: str) -> None:
        """Never answer queries for ``name``, so the client times out."""
        self._dropped.add(_key(name))

    def lose_first(self, name: str, count: int = 1) -> None:
        """Ignore the next ``count`` UDP queries for ``name``, as a lossy path would."""
        self._to_lose[_key(name)] = count

    # -- addresses -------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("DnsServer is not started: call start() or use it as a context")
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` (``[host]:port`` for IPv6), as a nameserver setting takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> DnsServer:
        self._thread = threading.Thread(target=self._serve, name="test-dns-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f"DNS test server did not start within {_START_TIMEOUT_S} s")
        if self._start_error is not None:
            self._thread.join()
            raise RuntimeError(f"DNS test server failed to start: {self._start_error}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stopping = self._stopping
        if stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        thread.join(_START_TIMEOUT_S)
        self._loop = self._thread = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> DnsServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- the server thread -----------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        try:
            udp, tcp = await self._bind(tasks)
        except OSError as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            udp.close()
            tcp.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await tcp.wait_closed()

    async def _bind(
        self, tasks: set[asyncio.Task[None]]
    ) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
        """UDP on an ephemeral port, then TCP on the same port (retrying if it is taken)."""
        loop = asyncio.get_running_loop()
        last: OSError | None = None
        for _ in range(20):
            udp, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self, tasks), local_addr=(self.host, 0)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(
                    lambda r, w: self._track(tasks, self._serve_tcp(r, w)), self.host, port
                )
            except OSError as exc:
                udp.close()
                last = exc
                continue
            self._port = port
            return udp, tcp
        raise last or OSError("no free port")

    def _track(self, tasks: set[asyncio.Task[None]], coro: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    wire = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                reply = await self._answer(wire, max_size=65535)
                if reply is None:
                    continue
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _lost(self, wire: bytes) -> bool:
        """Whether this UDP datagram is one ``lose_first`` asked to ignore."""
        try:
            question = dns.message.from_wire(wire).question
        except dns.exception.DNSException:
            return False
        name = question[0].name.to_text().lower() if question else ""
        left = self._to_lose.get(name, 0)
        if left <= 0:
            return False
        self._to_lose[name] = left - 1
        self.queries.append((name, "lost:" + dns.rdatatype.to_text(question[0].rdtype)))
        return True

    async def _answer(self, wire: bytes, *, max_size: int | None) -> bytes | None:
        """The reply to one query in wire format, or None to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        if name in self._dropped:
            assert self._stopping is not None
            await self._stopping.wait()
            return None
        wait = self._delays.get(name, 0.0)
        if wait > 0:
            await asyncio.sleep(wait)
        response = self._respond(query, question.name, question.rdtype)
        limit = max_size if max_size is not None else max(512, query.payload)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC
            return truncated.to_wire()

    def _respond(
        self, query: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        forced = self._rcodes.get(qname.to_text().lower())
        if forced is not None:
            response.set_rcode(forced)
            return response
        name = qname
        for _ in range(_MAX_CNAME_CHAIN):
            records = self._zone.get(name.to_text().lower())
            if records is None:
                # As bind does (RFC 6604): the rcode is that of the chain's last name,
                # so a CNAME to a missing name answers NXDOMAIN along with the CNAME.
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            values = records.get(dns.rdatatype.to_text(qtype))
            if values:
                response.answer.append(self._rrset(name, qtype, values))
                return response
            cname = records.get("CNAME")
            if not cname or qtype == dns.rdatatype.CNAME:
                return response
            rrset = self._rrset(name, dns.rdatatype.CNAME, cname[:1])
            response.answer.append(rrset)
            target = rrset[0].target
            assert isinstance(target, dns.name.Name)
            name = target
        return response

    def _rrset(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, values: Sequence[str]
    ) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        for text in values:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
            )
            rrset.add(rdata, self.ttl)
        return rrset


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer, tasks: set[asyncio.Task[None]]) -> None:
        self._server = server
        self._tasks = tasks
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self._server._lost(data):
            return
        task = asyncio.get_running_loop().create_task(self._reply(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = await self._server._answer(data, max_size=None)
        if reply is not None and self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(reply, addr)
