"""A fast loopback HTTP(S) target for benchmarks: answers every request 200 "ok".

``python -m bench.target [--cert FILE --key FILE]`` listens on 127.0.0.1 on a free
port, prints ``PORT <n>`` on stdout once ready, and serves until terminated. Each
response closes its connection (a check opens a fresh one anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ssl.SSLError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def serve(tls: ssl.SSLContext | None) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0, ssl=tls, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", help="PEM certificate chain (serves HTTPS)")
    parser.add_argument("--key", help="PEM private key of --cert")
    args = parser.parse_args()
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    asyncio.run(serve(tls))


if __name__ == "__main__":
    main()
