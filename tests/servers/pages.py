"""A loopback web site for browser checks: a login flow, broken and slow pages, cookies.

Plain HTTP by default; pass a server ``ssl.SSLContext`` for HTTPS.

Runs ``http.server`` in a thread, so it serves the same whatever event loop a test
uses. Slow pages wait on the server's stop event, so ``stop()`` never hangs on them.

    /login          form (#user, #pass, #submit) POSTing to /login; alice/secret -> /dashboard
    /dashboard      "Welcome, <user>" read from the session cookie
    /redesigned     the login page after a redesign: the button is now #sign-in
    /broken         a script that throws and an image that answers 404
    /script-redirect  moves on to /ok from its load event
    /slow?delay=S   answers after S seconds
    /hang           answers only when the server stops
    /set-cookie     sets session=abc123
    /show-cookie    shows the Cookie header the browser sent, or "none"
    /ok             a small page with a stylesheet and an image
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOGIN_FORM = """<!doctype html><html><head><title>Sign in - Example</title></head><body>
<form method="post" action="/login">
  <label>User <input id="user" name="user"></label>
  <label>Password <input id="pass" name="pass" type="password"></label>
  <select id="lang" name="lang"><option value="en">English</option>
    <option value="fr">Français</option></select>
  <button id="{button}" type="submit">Sign in</button>
</form><p id="message">{message}</p></body></html>"""

BROKEN = """<!doctype html><html><head><title>Broken</title></head><body>
<h1>Still here</h1><img src="/missing.png" alt="logo">
<script>undefinedFunction();</script></body></html>"""

OK_PAGE = """<!doctype html><html><head><title>All good</title>
<link rel="stylesheet" href="/style.css"></head><body>
<h1 id="headline">Status: all systems normal</h1><img src="/logo.png" alt="logo"
width="64" height="64"><p>{filler}</p></body></html>"""


def _png(width: int, height: int) -> bytes:
    """A valid grey PNG, built here so the server needs no files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


LOGO = _png(64, 64)


class PageServer:
    """The site above on 127.0.0.1 (a free port); records each request's path."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.stopping = threading.Event()
        self.paths: list[str] = []
        self.scheme = "https" if tls else "http"
        self._seen = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.daemon_threads = True
        self._httpd.site = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def record(self, path: str) -> None:
        with self._seen:
            self.paths.append(path)
            self._seen.notify_all()

    def wait_for_path(self, path: str, timeout: float) -> bool:
        """Block until a request for ``path`` (without query) arrived, or ``timeout`` passed."""
        with self._seen:
            return self._seen.wait_for(lambda: path in self.paths, timeout=timeout)


@contextmanager
def serve_pages(tls: ssl.SSLContext | None = None) -> Iterator[PageServer]:
    """The site over HTTP, or over HTTPS with ``tls`` (a server-side context)."""
    server = PageServer(tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Handler(BaseHTTPRequestHandler):
    server_version = "VigilPages/1"

    @property
    def site(self) -> PageServer:
        site: PageServer = self.server.site  # type: ignore[attr-defined]
        return site

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.site.record(parts.path)
        query = parse_qs(parts.query)
        route = parts.path
        if route == "/login":
            self._html(LOGIN_FORM.format(button="submit", message=""))
        elif route == "/redesigned":
            self._html(LOGIN_FORM.format(button="sign-in", message=""))
        elif route == "/dashboard":
            user = self._cookies().get("user")
            if user is None:
                self._redirect("/login")
            else:
                self._html(f"<title>Dashboard</title><h1 id='greeting'>Welcome, {user}</h1>")
        elif route == "/script-redirect":
            self._html(
                "<title>Moving</title><script>"
                "addEventListener('load', () => location.replace('/ok'))</script>"
            )
        elif route == "/broken":
            self._html(BROKEN)
        elif route == "/slow":
            self.site.stopping.wait(float(query.get("delay", ["30"])[0]))
            self._html("<title>Slow</title><p>finally</p>")
        elif route == "/hang":
            self.site.stopping.wait(120)
            self._html("<title>Hang</title>")
        elif route == "/set-cookie":
            self._html(
                "<title>Cookie</title><p>cookie set</p>",
                headers={"Set-Cookie": "session=abc123; Path=/"},
            )
        elif route == "/show-cookie":
            sent = self.headers.get("Cookie") or "none"
            self._html(f"<title>Cookies</title><p id='cookies'>cookies: {sent}</p>")
        elif route == "/ok":
            self._html(OK_PAGE.format(filler="Lorem ipsum dolor sit amet. " * 200))
        elif route == "/style.css":
            self._send(200, b"body { font-family: sans-serif; } h1 { color: #333; }", "text/css")
        elif route in ("/logo.png", "/favicon.ico"):
            # A favicon as real sites have: Chromium asks for one on its own, now and
            # then before the check ends, and a 404 would be a console error.
            self._send(200, LOGO, "image/png")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        self.site.record(parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        user = form.get("user", [""])[0]
        if parts.path == "/login" and user == "alice" and form.get("pass") == ["secret"]:
            self._redirect("/dashboard", headers={"Set-Cookie": f"user={user}; Path=/"})
        else:
            self._html(LOGIN_FORM.format(button="submit", message="Invalid credentials"))

    def _cookies(self) -> dict[str, str]:
        pairs = (p.strip().split("=", 1) for p in (self.headers.get("Cookie") or "").split(";"))
        return {p[0]: p[1] for p in pairs if len(p) == 2}

    def _html(self, body: str, *, headers: dict[str, str] | None = None) -> None:
        self._send(200, body.encode(), "text/html; charset=utf-8", headers=headers)

    def _redirect(self, location: str, *, headers: dict[str, str] | None = None) -> None:
        self._send(303, b"", "text/plain", headers={"Location": location, **(headers or {})})

    def _send(
        self, status: int, body: bytes, content_type: str, *, headers: dict[str, str] | None = None
    ) -> None:
        # The browser may have given up on a slow page: then there is no one to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
