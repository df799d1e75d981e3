"""``vigil run`` on an empty store: a start page at ``/`` linking the demo status page."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_vigil_run_serves_a_start_page_and_the_demo_status_page(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'vigil.db'}",
        "VIGIL_PORT": str(port),
        "VIGIL_REGIONS": "local",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    start = client.get("/")
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)  # waiting for the port to open: there is no event
            page = client.get("/status/demo")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)

    # A clean stop exits 0 (uvicorn alone would re-raise the SIGTERM: status 143).
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err, err.decode()[-2000:]
    assert start.status_code == 200
    assert start.headers["content-type"].startswith("text/html")
    assert '<a href="/status/demo">Vigil demo</a>' in start.text
    assert '<a href="/docs">' in start.text
    assert page.status_code == 200
    assert "<h1>Vigil demo status</h1>" in page.text and "Vigil API" in page.text
    assert f"{base}/status/demo" in out.decode()
