"""HTTP check against real HTTP/HTTPS servers and a real DNS server on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from checks import certificate, http
from checks.base import CheckContext, MonitorSpec
from checks.neterrors import NOT_TLS_MESSAGE, OLD_PROTOCOL_MESSAGE
from store.clock import FrozenClock
from tests.checks.phases import IDLE_MS, assert_holds, phase_sum
from tests.servers.dns import DnsServer
from tests.servers.http import HttpServer
from tests.servers.tcp import TcpServer, closed_port, unanswered_port
from tests.servers.tls import TEST_NAME, Pki
from tests.servers.tls_server import ThreadedTlsServer, TlsServer, legacy_context, server_context


def monitor(url: str, *, timeout_s: float = 5.0, **fields: Any) -> MonitorSpec:
    config = fields.pop("config", {})
    return MonitorSpec(
        id="mon_1",
        name="api",
        type="HTTP",
        url=url,
        timeout_s=timeout_s,
        config=config,
        **{"trusted": True, **fields},
    )


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    async with HttpServer() as srv:
        yield srv


@pytest.fixture
async def tls_server(pki: Pki) -> AsyncIterator[HttpServer]:
    async with HttpServer(ssl_context=Pki.server_context(pki.good)) as srv:
        yield srv


# --- success and status -------------------------------------------------------------


async def test_http_ok_reports_status_size_and_small_details(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/status/200")), check_ctx)
    assert result.status == "UP"
    assert result.error is None
    assert result.status_code == 200
    assert result.size_bytes == len(b"status 200")
    assert result.details == {"resolvedIp": "127.0.0.1", "httpVersion": "HTTP/1.1"}
    assert result.checked_at == check_ctx.clock.now()
    assert result.timings.dns is None  # an IP literal needs no lookup
    assert result.timings.tls is None


async def test_http_non_2xx_is_down_with_evidence(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/status/503")), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Expected a 2xx status, got 503"
    assert result.status_code == 503
    assert result.details["body"] == "status 503"
    assert result.details["responseHeaders"]["content-length"] == "10"
    assert result.details["resolvedIp"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "expected", "status", "error"),
    [
        pytest.param("/status/200", 200, "UP", None, id="match"),
        pytest.param("/status/503", 200, "DOWN", "Expected status 200, got 503", id="mismatch"),
        pytest.param("/status/404", 404, "UP", None, id="non-2xx-expected"),
    ],
)
async def test_http_expected_status_decides(
    server: HttpServer,
    check_ctx: CheckContext,
    path: str,
    expected: int,
    status: str,
    error: str | None,
) -> None:
    result = await http.run(monitor(server.url(path), expected_status=expected), check_ctx)
    assert (result.status, result.error) == (status, error)


async def test_http_keyword_found_and_missing(server: HttpServer, check_ctx: CheckContext) -> None:
    server.respond("/health", body=b'{"status": "ok"}')
    found = await http.run(monitor(server.url("/health"), expected_keyword="ok"), check_ctx)
    missing = await http.run(monitor(server.url("/health"), expected_keyword="up"), check_ctx)
    assert found.status == "UP"
    assert missing.status == "DOWN"
    assert missing.error == "Keyword 'up' not found"
    assert missing.details["body"] == '{"status": "ok"}'


async def test_http_huge_body_is_counted_but_only_1mb_kept(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(
        monitor(server.url("/big?bytes=3000000"), expected_keyword="needle"), check_ctx
    )
    assert result.size_bytes == 3_000_000
    assert result.error == "Keyword 'needle' not found in the first 1000000 bytes of the body"
    assert len(result.details["body"]) == 2048


# --- request options ------------------------------------------------------------------


async def test_http_sends_method_headers_and_body(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    config = {
        "method": "POST",
        "headers": {"Authorization": "Bearer t0ken", "Content-Type": "application/json"},
        "body": '{"key": "value"}',
    }
    result = await http.run(monitor(server.url("/echo"), config=config), check_ctx)
    assert result.status == "UP"
    seen = server.requests[-1]
    assert seen.method == "POST"
    assert seen.headers["authorization"] == "Bearer t0ken"
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == b'{"key": "value"}'
    assert seen.headers["user-agent"].startswith("Vigil/")


async def test_http_monitor_method_used_without_config_method(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/echo"), method="DELETE"), check_ctx)
    assert result.status == "UP"
    assert server.requests[-1].method == "DELETE"


async def test_http_head_reads_no_body(server: HttpServer, check_ctx: CheckContext) -> None:
    result = await http.run(monitor(server.url("/status/200"), method="HEAD"), check_ctx)
    assert result.status == "UP"
    assert server.requests[-1].method == "HEAD"
    assert result.size_bytes == 0


async def test_http_invalid_config_is_down_naming_the_field(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/"), config={"maxRedirects": 99}), check_ctx)
    assert result.status == "DOWN"
    assert result.error == (
        "Invalid monitor config: config.maxRedirects must be a whole number from 0 to 20. "
        "Fix the monitor."
    )
    assert server.requests == []


async def test_http_non_http_url_is_refused(check_ctx: CheckContext) -> None:
    result = await http.run(monitor("ftp://files.example.com/x"), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Invalid URL 'ftp://files.example.com/x': use http:// or https://"
    assert result.checked_at == check_ctx.clock.now()


async def test_http_name_goes_to_resolved_ip_with_host_header(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/echo", host="localhost")), check_ctx)
    assert result.status == "UP"
    assert result.details["resolvedIp"] == "127.0.0.1"
    assert server.requests[-1].headers["host"] == f"localhost:{server.port}"
    assert result.timings.dns is not None  # from the hosts file: measured, near zero
    assert result.timings.dns < 50


async def test_http_ipv6_literal(check_ctx: CheckContext) -> None:
    async with HttpServer(host="::1") as srv:
        result = await http.run(monitor(srv.url("/status/200")), check_ctx)
    assert result.status == "UP"
    assert result.details["resolvedIp"] == "::1"


# --- assertions through the check -----------------------------------------------------


async def test_http_assertions_pass_and_keep_actual_values(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    server.respond(
        "/api",
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=json.dumps({"data": {"status": "ok", "items": [1, 2]}}).encode(),
    )
    assertions = [
        {"type": "status_code", "operator": "equals", "value": "200"},
        {"type": "response_time", "operator": "less_than", "value": "2000"},
        {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"},
        {"type": "json_path", "path": "$.data.items", "operator": "contains", "value": "2"},
        {"type": "header", "name": "content-type", "operator": "contains", "value": "json"},
    ]
    result = await http.run(
        monitor(server.url("/api"), config={"assertions": assertions}), check_ctx
    )
    assert result.status == "UP", result.error
    shown = result.details["assertions"]
    assert [a["passed"] for a in shown] == [True] * 5
    assert shown[2]["actual"] == "ok"
    assert shown[4]["actual"] == "application/json; charset=utf-8"


async def test_http_failed_json_path_assertion_says_expected_and_actual(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    server.respond("/api", body=b'{"data": {"status": "degraded"}}')
    assertions = [
        {"type": "json_path", "path": "$.data.status", "operator": "equals", "value": "ok"}
    ]
    result = await http.run(
        monitor(server.url("/api"), config={"assertions": assertions}), check_ctx
    )
    assert result.status == "DOWN"
    assert result.error == "Assertion failed: $.data.status equals 'ok', got 'degraded'"
    assert result.details["assertions"][0]["expected"] == "ok"
    assert result.details["assertions"][0]["actual"] == "degraded"


async def test_http_status_code_assertion_replaces_default_2xx(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    assertions = [{"type": "status_code", "operator": "equals", "value": 404}]
    result = await http.run(
        monitor(server.url("/status/404"), config={"assertions": assertions}), check_ctx
    )
    assert result.status == "UP"
    wrong = await http.run(
        monitor(server.url("/status/500"), config={"assertions": assertions}), check_ctx
    )
    assert wrong.error == "Assertion failed: status code equals 404, got 500"


async def test_http_response_time_assertion_fails_on_slow_answer(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    assertions = [{"type": "response_time", "operator": "less_than", "value": "100"}]
    result = await http.run(
        monitor(server.url("/delay?first_byte_ms=200"), config={"assertions": assertions}),
        check_ctx,
    )
    assert result.status == "DOWN"
    assert result.error is not None
    assert result.error.startswith("Assertion failed: response time less than 100 ms, got ")
    assert result.details["assertions"][0]["actual"] >= 200


# --- redirects ------------------------------------------------------------------------


async def test_http_redirects_followed_with_chain_kept(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/redirect/3")), check_ctx)
    assert result.status == "UP"
    assert result.status_code == 200
    assert result.details["redirects"] == [
        {"url": server.url("/redirect/3"), "status": 302},
        {"url": server.url("/redirect/2"), "status": 302},
        {"url": server.url("/redirect/1"), "status": 302},
    ]
    assert result.details["finalUrl"] == server.url("/redirect/0")
    assert result.details["timingsOf"] == "final hop"
    assert result.size_bytes == len(b"done")


async def test_http_redirect_not_followed_when_disabled(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    config = {"followRedirects": False}
    result = await http.run(monitor(server.url("/redirect/1"), config=config), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Expected a 2xx status, got 302"
    assert result.details["responseHeaders"]["location"] == "/redirect/0"
    expected = await http.run(
        monitor(server.url("/redirect/1"), config=config, expected_status=302), check_ctx
    )
    assert expected.status == "UP"
    assert len(server.requests) == 2


async def test_http_redirect_loop_is_too_many_redirects(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/redirect-loop")), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Too many redirects (more than 10)"
    assert len(result.details["redirects"]) == 10
    assert len(server.requests) == 11


async def test_http_max_redirects_is_respected(server: HttpServer, check_ctx: CheckContext) -> None:
    config = {"maxRedirects": 2}
    too_long = await http.run(monitor(server.url("/redirect/3"), config=config), check_ctx)
    just_fits = await http.run(monitor(server.url("/redirect/2"), config=config), check_ctx)
    assert too_long.error == "Too many redirects (more than 2)"
    assert just_fits.status == "UP"


async def test_http_303_after_post_becomes_get(server: HttpServer, check_ctx: CheckContext) -> None:
    config = {"method": "POST", "body": "x=1"}
    url = server.url("/redirect-to?status=303&url=/echo")
    result = await http.run(monitor(url, config=config), check_ctx)
    assert result.status == "UP"
    assert [(r.method, r.body) for r in server.requests] == [("POST", b"x=1"), ("GET", b"")]


async def test_http_redirect_to_other_origin_drops_credentials(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    async with HttpServer() as other:
        url = server.url(f"/redirect-to?url={other.url('/echo')}")
        config = {"headers": {"Authorization": "Bearer secret", "X-Trace": "1"}}
        result = await http.run(monitor(url, config=config), check_ctx)
        assert result.status == "UP"
        assert server.requests[-1].headers["authorization"] == "Bearer secret"
        assert "authorization" not in other.requests[-1].headers
        assert other.requests[-1].headers["x-trace"] == "1"


# --- connection failures and timeouts -------------------------------------------------


async def test_http_connection_refused(check_ctx: CheckContext) -> None:
    with closed_port() as port:
        result = await http.run(monitor(f"http://127.0.0.1:{port}/"), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Connection refused"
    assert result.details == {"resolvedIp": "127.0.0.1"}


async def test_http_connect_timeout(check_ctx: CheckContext) -> None:
    with unanswered_port() as port:
        result = await http.run(monitor(f"http://127.0.0.1:{port}/", timeout_s=0.5), check_ctx)
    assert result.error == "Connection timed out after 0.5 s"
    assert result.response_time_ms is not None
    assert 450 <= result.response_time_ms <= 1000


async def test_http_timeout_waiting_for_first_byte(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    url = server.url("/delay?first_byte_ms=3000")
    result = await http.run(monitor(url, timeout_s=0.5), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Timeout after 0.5 s while waiting for the first byte"


async def test_http_timeout_while_downloading_body(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/stall-body"), timeout_s=0.5), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "Timeout after 0.5 s while downloading the body"


async def test_http_server_hanging_up_without_answer(
    server: HttpServer, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(server.url("/hang-up")), check_ctx)
    assert result.status == "DOWN"
    assert result.error == (
        "Connection closed by the server before a complete response "
        "(Server disconnected without sending a response.)"
    )


# --- TLS ------------------------------------------------------------------------------


async def test_https_ok_reports_tls_phase_and_certificate(
    tls_server: HttpServer, pki: Pki, check_ctx: CheckContext
) -> None:
    result = await http.run(monitor(tls_server.url("/status/200", host="localhost")), check_ctx)
    assert result.status == "UP", result.error
    assert result.timings.tls is not None and result.timings.tls > 0
    assert result.details["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert result.details["certificate"]["notAfter"] == "3000-01-01T00:00:00Z"
    assert tls_server.sni_names == ["localhost"]


async def test_https_handshake_timeout(check_ctx: CheckContext) -> None:
    async with TcpServer() as silent:  # accepts, then never answers the ClientHello
        url = f"https://127.0.0.1:{silent.port}/"
        result = await http.run(monitor(url, timeout_s=0.5), check_ctx)
    assert result.status == "DOWN"
    assert result.error == "TLS: handshake timed out after 0.5 s"


def _expired_message(pki: Pki, now: datetime) -> str:
    pem = x509.load_pem_x509_certificate(pki.expired.cert_chain_pems[0].bytes())
    leaf = certificate.parse(pem.public_bytes(serialization.Encoding.DER))
    return certificate.expired(leaf, now)


def _unknown_issuer_message(pki: Pki) -> str:
    leaf = x509.load_pem_x509_certificate(pki.unknown_ca.cert_chain_pems[0].bytes())
    issuer = repr(leaf.issuer.rfc4514_string())
    return (
        f"TLS: the server sent only its own certificate, and its issuer {issuer} is missing "
        f"and not trusted: serve the full chain (certificate, then the intermediate {issuer}), "
        f"or trust {issuer} if it is a private CA"
    )


@pytest.mark.parametrize(
    ("cert", "error"),
    [
        pytest.param("expired", None, id="expired"),
        pytest.param(
            "wrong_host", "TLS: certificate is for other.invalid, not localhost", id="wrong-host"
        ),
        pytest.param("unknown_ca", None, id="unknown-ca"),
    ],
)
async def test_https_certificate_failures(
    pki: Pki, check_ctx: CheckContext, cert: str, error: str | None
) -> None:
    # The real time: OpenSSL judges expiry by it, and the message counts days from it.
    check_ctx = replace(check_ctx, clock=FrozenClock(datetime.now(UTC)))
    if cert == "expired":
        error = _expired_message(pki, check_ctx.clock.now())
        assert error.startswith("TLS: certificate expired on ")
    elif cert == "unknown_ca":
        error = _unknown_issuer_message(pki)
    async with HttpServer(ssl_context=Pki.server_context(getattr(pki, cert))) as srv:
        result = await http.run(monitor(srv.url("/status/200", host="localhost")), check_ctx)
        unchecked = await http.run(
            monitor(srv.url("/status/200", host="localhost"), config={"verifyTls": False}),
            check_ctx,
        )
    assert result.status == "DOWN"
    assert result.error == error
    assert unchecked.status == "UP", unchecked.error
    assert len(srv.requests) == 1  # the verifying check never sent its request


async def test_https_names_the_missing_intermediate(pki: Pki, check_ctx: CheckContext) -> None:
    leaf = pki.ca.create_child_ca().issue_cert("localhost")
    leaf_pem = leaf.cert_chain_pems[0].bytes()
    issuer = repr(x509.load_pem_x509_certificate(leaf_pem).issuer.rfc4514_string())
    context = server_context(leaf_pem, leaf.private_key_pem.bytes())
    async with TlsServer(context) as srv:
        result = await http.run(monitor(f"https://localhost:{srv.port}/"), check_ctx)

    assert result.status == "DOWN"
    assert result.error == (
        f"TLS: the server sent only its own certificate, and its issuer {issuer} is missing "
        f"and not trusted: serve the full chain (certificate, then the intermediate {issuer}), "
        f"or trust {issuer} if it is a private CA"
    )


async def test_https_to_a_plain_http_port_says_so(check_ctx: CheckContext) -> None:
    async with TcpServer(banner=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as srv:
        result = await http.run(monitor(f"https://127.0.0.1:{srv.port}/"), check_ctx)

    assert result.status == "DOWN"
    assert result.error == NOT_TLS_MESSAGE


async def test_https_to_a_tls_1_1_server_says_tls_1_2_is_required(
    pki: Pki, check_ctx: CheckContext
) -> None:
    leaf = pki.good
    pems = b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
    with ThreadedTlsServer(legacy_context(pems, leaf.private_key_pem.bytes())) as srv:
        result = await http.run(monitor(f"https://localhost:{srv.port}/"), check_ctx)

    assert result.status == "DOWN"
    assert result.error == OLD_PROTOCOL_MESSAGE


async def test_https_expired_cert_details_with_verify_off(
    pki: Pki, check_ctx: CheckContext
) -> None:
    async with HttpServer(ssl_context=Pki.server_context(pki.expired)) as srv:
        result = await http.run(
            monitor(srv.url("/status/200"), config={"verifyTls": False}), check_ctx
        )
    cert = x509.load_pem_x509_certificate(pki.expired.cert_chain_pems[0].bytes())
    assert result.status == "UP"
    assert result.details["certificate"]["notAfter"] == (
        cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


# --- DNS ------------------------------------------------------------------------------


@pytest.fixture
async def dns_server() -> AsyncIterator[DnsServer]:
    zone = {
        "api.example.com.": {"A": ["127.0.0.1"]},
        "slow.example.com.": {"A": ["127.0.0.1"]},
        TEST_NAME + ".": {"A": ["127.0.0.1"]},
        "v6.example.com.": {"AAAA": ["::1"]},
        "text.example.com.": {"TXT": ['"hello"']},
    }
    async with DnsServer(zone) as srv:
        yield srv


def with_dns(ctx: CheckContext, server: DnsServer) -> CheckContext:
    return replace(ctx, nameservers=(server.address,))


@pytest.mark.parametrize(
    ("name", "setup", "error"),
    [
        pytest.param("missing.example.com", None, "DNS: NXDOMAIN for missing.example.com", id="nx"),
        pytest.param(
            "api.example.com", "SERVFAIL", "DNS: SERVFAIL for api.example.com", id="servfail"
        ),
        pytest.param(
            "text.example.com", None, "DNS: no A/AAAA records for text.example.com", id="no-a"
        ),
        pytest.param(
            "api.example.com", "drop", "DNS: no answer for api.example.com within 0.5 s", id="drop"
        ),
    ],
)
async def test_http_dns_failures(
    dns_server: DnsServer, check_ctx: CheckContext, name: str, setup: str | None, error: str
) -> None:
    if setup == "drop":
        dns_server.drop(name)
    elif setup is not None:
        dns_server.rcode(name, setup)
    result = await http.run(
        monitor(f"http://{name}/", timeout_s=0.5), with_dns(check_ctx, dns_server)
    )
    assert result.status == "DOWN"
    assert result.error == error


async def test_https_via_dns_name_sends_sni_and_host(
    dns_server: DnsServer, tls_server: HttpServer, check_ctx: CheckContext
) -> None:
    url = tls_server.url("/echo", host=TEST_NAME)
    result = await http.run(monitor(url), with_dns(check_ctx, dns_server))
    assert result.status == "UP", result.error
    assert tls_server.sni_names == [TEST_NAME]
    assert tls_server.requests[-1].headers["host"] == f"{TEST_NAME}:{tls_server.port}"
    assert (TEST_NAME + ".", "A") in dns_server.queries


async def test_http_aaaa_only_name_connects_over_ipv6(
    dns_server: DnsServer, check_ctx: CheckContext
) -> None:
    async with HttpServer(host="::1") as srv:
        url = srv.url("/status/200", host="v6.example.com")
        result = await http.run(monitor(url), with_dns(check_ctx, dns_server))
    assert result.status == "UP", result.error
    assert result.details["resolvedIp"] == "::1"


# --- phase timings --------------------------------------------------------------------


async def test_http_phases_land_in_their_own_fields(
    dns_server: DnsServer, server: HttpServer, check_ctx: CheckContext
) -> None:
    dns_server.delay("slow.example.com.", 0.2)
    url = server.url("/slow-body?first_byte_ms=150&over_ms=300&chunks=3", host="slow.example.com")
    result = await http.run(monitor(url), with_dns(check_ctx, dns_server))
    assert result.status == "UP", result.error
    t = result.timings
    assert_holds(t.dns, 200, t)
    assert_holds(t.ttfb, 150, t)
    assert_holds(t.download, 300, t)
    assert t.tcp is not None and t.tcp <= IDLE_MS, t
    assert t.total is not None
    assert t.tls is None
    assert abs(phase_sum(result) - t.total) <= 3, t
    assert result.response_time_ms == round(t.total)
    assert result.size_bytes == 300


async def test_https_phases_add_up_to_total(
    tls_server: HttpServer, check_ctx: CheckContext
) -> None:
    url = tls_server.url("/delay?first_byte_ms=100", host="localhost")
    result = await http.run(monitor(url), check_ctx)
    t = result.timings
    assert t.total is not None and t.ttfb is not None and t.tls is not None
    assert abs(phase_sum(result) - t.total) <= 3, t
    assert_holds(t.ttfb, 100, t)
    assert t.tls <= IDLE_MS, t


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://[::1", id="broken-ipv6"),
        pytest.param("http://127.0.0.1:99999/", id="port"),
    ],
)
async def test_http_redirect_to_an_invalid_url_is_down_not_a_crash(
    server: HttpServer, check_ctx: CheckContext, location: str
) -> None:
    server.respond("/bad-redirect", status=302, headers={"Location": location})
    result = await http.run(monitor(server.url("/bad-redirect")), check_ctx)
    assert result.status == "DOWN"
    assert result.error is not None and "Internal error" not in result.error
    assert "redirect" in result.error.lower() or "port" in result.error.lower()
