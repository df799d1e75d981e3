"""BROWSER checks held to the target policy: the page and every sub-request it makes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from checks.base import CheckContext, MonitorSpec
from checks.browser import BrowserPool
from checks.target_policy import parse_networks
from tests.servers.http import HttpServer
from tests.servers.tls import Pki

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    shared = BrowserPool()
    yield shared
    await shared.close()


def monitor(url: str, *, trusted: bool, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="m1", name="shop", type="BROWSER", url=url, timeout_s=15, config=config, trusted=trusted
    )


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_browser_page_on_loopback_matrix(
    pool: BrowserPool, check_ctx: CheckContext, trusted: bool
) -> None:
    async with HttpServer() as site:
        site.respond("/", body=b"<title>Inside</title><h1>admin</h1>")
        result = await pool.run_check(monitor(site.url("/"), trusted=trusted), check_ctx)
        requests = list(site.requests)
    if trusted:
        assert result.status == "UP", result.error
        assert requests[0].path == "/"
    else:
        assert result.status == "DOWN"
        assert result.error is not None
        assert "Refused to connect: 127.0.0.1, a loopback address" in result.error
        assert "vigil admin trust-org" in result.error
        assert requests == []
        assert result.details["refusedRequests"][0].startswith("Refused to connect: 127.0.0.1")


async def test_browser_sub_requests_are_judged_each(
    pool: BrowserPool, check_ctx: CheckContext
) -> None:
    # The page itself is allowed (an allowed network stands in for a public site);
    # the image it pulls from another loopback address is refused, and nothing else.
    ctx = replace(check_ctx, allowed_targets=parse_networks("127.0.0.1/32"))
    async with HttpServer() as site, HttpServer(host="::1") as inside:
        page = f'<title>Shop</title><img src="http://[::1]:{inside.port}/x.png">'
        site.respond("/", body=page.encode())
        result = await pool.run_check(
            monitor(site.url("/"), trusted=False, failOnFailedRequests=True), ctx
        )
        reached_inside = inside.connections
    assert result.status == "DOWN"
    (refusal,) = result.details["refusedRequests"]
    assert refusal.startswith("Refused to connect: ::1, a loopback address")
    assert result.details["failedRequests"][0]["url"] == f"http://[::1]:{inside.port}/x.png"
    assert reached_inside == 0
    assert site.requests[0].path == "/"  # (Chromium asks for /favicon.ico too)


async def test_browser_https_goes_through_the_proxy_tunnel_to_the_judged_address(
    pool: BrowserPool, check_ctx: CheckContext, pki: Pki
) -> None:
    ctx = replace(check_ctx, allowed_targets=parse_networks("127.0.0.1/32"))
    async with HttpServer(ssl_context=Pki.server_context(pki.good)) as site:
        site.respond("/", body=b"<title>Secure</title><h1>ok</h1>")
        # Chromium does not know the test CA; the tunnel, not the certificate, is the point.
        spec = monitor(site.url("/", host="localhost"), trusted=False, ignoreHttpsErrors=True)
        result = await pool.run_check(spec, ctx)
    assert result.status == "UP", result.error
    assert "refusedRequests" not in result.details
    assert site.sni_names[0] == "localhost"
    assert site.requests[0].headers["host"] == f"localhost:{site.port}"
