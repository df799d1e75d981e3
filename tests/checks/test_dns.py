"""The DNS check against a real DNS server on loopback (tests/servers/dns.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from checks.base import CheckContext, MonitorSpec
from checks.dns import run, validate_config
from tests.servers.dns import DnsServer

ZONE = {
    "api.test.": {
        "A": ["127.0.0.1", "127.0.0.2"],
        "AAAA": ["::1"],
        "MX": ["10 mail.test.", "20 backup.test."],
        "TXT": ['"v=spf1 -all"', '"hello" " world"'],
        "NS": ["ns1.test."],
        "CAA": ['0 issue "letsencrypt.org"'],
    },
    "test.": {"SOA": ["ns1.test. admin.test. 2024010101 3600 600 86400 300"]},
    "www.test.": {"CNAME": ["api.test."]},
    "_sip._tcp.test.": {"SRV": ["10 60 5060 sip.test."]},
    "1.0.0.127.in-addr.arpa.": {"PTR": ["localhost."]},
    "big.test.": {"TXT": [f'"{"x" * 200}-{i}"' for i in range(12)]},
}


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(ZONE, ttl=120) as server:
        yield server


def monitor(url: str, *, timeout_s: float = 2.0, **config: Any) -> MonitorSpec:
    return MonitorSpec(
        id="m1", name="dns", type="DNS", url=url, timeout_s=timeout_s, config=config, trusted=True
    )


def context(server: DnsServer) -> CheckContext:
    return CheckContext(nameservers=(server.address,))


@pytest.mark.parametrize(
    ("name", "record_type", "values"),
    [
        pytest.param("api.test", "A", ["127.0.0.1", "127.0.0.2"], id="A"),
        pytest.param("api.test", "AAAA", ["::1"], id="AAAA"),
        pytest.param("www.test", "CNAME", ["api.test."], id="CNAME"),
        pytest.param("api.test", "MX", ["10 mail.test.", "20 backup.test."], id="MX"),
        pytest.param("api.test", "NS", ["ns1.test."], id="NS"),
        pytest.param("api.test", "TXT", ["v=spf1 -all", "hello world"], id="TXT"),
        pytest.param(
            "test", "SOA", ["ns1.test. admin.test. 2024010101 3600 600 86400 300"], id="SOA"
        ),
        pytest.param("_sip._tcp.test", "SRV", ["10 60 5060 sip.test."], id="SRV"),
        pytest.param("api.test", "CAA", ['0 issue "letsencrypt.org"'], id="CAA"),
        pytest.param("127.0.0.1", "PTR", ["localhost."], id="PTR-from-IP"),
    ],
)
async def test_run_reports_each_record_type(
    dns_server: DnsServer, name: str, record_type: str, values: list[str]
) -> None:
    result = await run(monitor(name, recordType=record_type), context(dns_server))

    assert result.status == "UP", result.error
    assert result.error is None
    assert sorted(result.details["answer"]["values"]) == sorted(values)
    assert result.details["answer"]["type"] == record_type
    assert result.details["answer"]["ttl"] == 120
    assert result.details["nameserver"] == dns_server.address
    assert result.response_time_ms is not None
    assert result.timings.dns is not None
    assert result.timings.total == result.timings.dns


async def test_run_builds_reverse_name_for_ptr(dns_server: DnsServer) -> None:
    result = await run(monitor("127.0.0.1", recordType="PTR"), context(dns_server))

    assert result.details["name"] == "1.0.0.127.in-addr.arpa"
    assert ("1.0.0.127.in-addr.arpa.", "PTR") in dns_server.queries


async def test_run_follows_cname_to_address(dns_server: DnsServer) -> None:
    result = await run(monitor("www.test"), context(dns_server))

    assert result.status == "UP"
    assert sorted(result.details["answer"]["values"]) == ["127.0.0.1", "127.0.0.2"]
    assert result.details["canonicalName"] == "api.test"


async def test_run_falls_back_to_tcp_for_large_answer(dns_server: DnsServer) -> None:
    result = await run(monitor("big.test", recordType="TXT"), context(dns_server))

    assert result.status == "UP", result.error
    assert len(result.details["answer"]["values"]) == 12
    assert result.details["transport"] == "tcp"


async def test_run_reports_nxdomain(dns_server: DnsServer) -> None:
    result = await run(monitor("missing.test"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == "DNS: NXDOMAIN for missing.test"
    assert result.details["rcode"] == "NXDOMAIN"


async def test_run_reports_servfail_with_nameserver(dns_server: DnsServer) -> None:
    dns_server.rcode("api.test.", "SERVFAIL")

    result = await run(monitor("api.test"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == f"DNS: SERVFAIL from {dns_server.address} for api.test"


async def test_run_reports_refused_with_nameserver(dns_server: DnsServer) -> None:
    dns_server.rcode("api.test.", "REFUSED")

    result = await run(monitor("api.test"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == f"DNS: REFUSED by {dns_server.address} for api.test"


async def test_run_reports_missing_record_type(dns_server: DnsServer) -> None:
    result = await run(monitor("api.test", recordType="SRV"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == "DNS: no SRV records for api.test"


async def test_run_times_out_within_monitor_timeout(dns_server: DnsServer) -> None:
    dns_server.drop("api.test.")
    ctx = context(dns_server)  # outside the timing: loading CA stores takes ~0.5 s under load
    started = time.monotonic()

    result = await run(monitor("api.test", timeout_s=0.5), ctx)

    elapsed = time.monotonic() - started
    assert result.status == "DOWN"
    assert result.error == f"DNS: no answer from {dns_server.address} within 0.5 s"
    # Upper bound leaves 0.5 s for a loaded machine; a retry would take another 0.5 s.
    assert 0.45 <= elapsed < 1.0


async def test_run_measures_delayed_answer(dns_server: DnsServer) -> None:
    dns_server.delay("api.test.", 0.3)
    ctx = context(dns_server)
    started = time.perf_counter()

    result = await run(monitor("api.test"), ctx)

    wall_ms = (time.perf_counter() - started) * 1000
    assert result.status == "UP"
    assert result.response_time_ms is not None
    # Tolerance: at least the server's 300 ms delay, at most the wall time seen from outside
    # (which also bounds it on a loaded machine), and never a retry's worth more (< 1 s).
    assert 300 <= result.response_time_ms <= round(wall_ms) < 1000


async def test_run_moves_to_next_nameserver_when_first_is_silent() -> None:
    with DnsServer(ZONE) as silent, DnsServer(ZONE) as working:
        silent.drop("api.test.")
        ctx = CheckContext(nameservers=(silent.address, working.address))

        result = await run(monitor("api.test", timeout_s=1.0), ctx)

    assert result.status == "UP", result.error
    assert result.details["nameserver"] == working.address
    assert ("api.test.", "A") in silent.queries


async def test_run_prefers_configured_nameserver_over_context(dns_server: DnsServer) -> None:
    with DnsServer({"api.test.": {"A": ["10.9.9.9"]}}) as other:
        result = await run(monitor("api.test", nameserver=other.address), context(dns_server))

    assert result.details["answer"]["values"] == ["10.9.9.9"]
    assert result.details["nameserver"] == other.address
    assert dns_server.queries == []


@pytest.mark.parametrize(
    ("config", "error"),
    [
        pytest.param({"expectedValues": ["127.0.0.9", "127.0.0.2"]}, None, id="any-one-matches"),
        pytest.param(
            {"expectedValues": ["127.0.0.9"]},
            "DNS: expected any of [127.0.0.9], got [127.0.0.1, 127.0.0.2]",
            id="any-none-match",
        ),
        pytest.param(
            {"expectedValues": ["127.0.0.1"], "matchMode": "all"}, None, id="all-subset-ok"
        ),
        pytest.param(
            {"expectedValues": ["127.0.0.1", "127.0.0.9"], "matchMode": "all"},
            "DNS: expected all of [127.0.0.1, 127.0.0.9], missing [127.0.0.9], "
            "got [127.0.0.1, 127.0.0.2]",
            id="all-one-missing",
        ),
        pytest.param(
            {"expectedValues": ["127.0.0.2", "127.0.0.1"], "matchMode": "exact"},
            None,
            id="exact-same-set",
        ),
        pytest.param(
            {"expectedValues": ["127.0.0.1"], "matchMode": "exact"},
            "DNS: expected exactly [127.0.0.1], got [127.0.0.1, 127.0.0.2]",
            id="exact-extra-record",
        ),
    ],
)
async def test_run_compares_expected_values(
    dns_server: DnsServer, config: dict[str, Any], error: str | None
) -> None:
    result = await run(monitor("api.test", **config), context(dns_server))

    assert result.error == error
    assert result.status == ("UP" if error is None else "DOWN")


@pytest.mark.parametrize(
    ("record_type", "expected"),
    [
        pytest.param("MX", ["10 MAIL.test", "20 backup.TEST."], id="MX-case-and-dot"),
        pytest.param("TXT", ['"v=spf1 -all"', '"hello world"'], id="TXT-quotes"),
        pytest.param("CNAME", ["API.TEST"], id="CNAME-no-dot"),
    ],
)
async def test_run_normalises_values_before_comparing(
    dns_server: DnsServer, record_type: str, expected: list[str]
) -> None:
    name = "www.test" if record_type == "CNAME" else "api.test"
    config: dict[str, Any] = {
        "recordType": record_type,
        "expectedValues": expected,
        "matchMode": "exact",
    }

    result = await run(monitor(name, **config), context(dns_server))

    assert result.status == "UP", result.error


async def test_run_reports_invalid_config_without_querying(dns_server: DnsServer) -> None:
    result = await run(monitor("api.test", recordType="HINFO"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error is not None
    assert result.error.startswith("DNS: config.recordType must be one of A, AAAA")
    assert dns_server.queries == []


@pytest.mark.parametrize(
    ("config", "issues"),
    [
        pytest.param({}, [], id="defaults"),
        pytest.param(
            {"recordType": "aaaa", "nameserver": "[::1]:5353", "matchMode": "all"}, [], id="valid"
        ),
        pytest.param(
            {"recordType": "ANY"},
            [
                (
                    "config.recordType",
                    "must be one of A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR",
                )
            ],
            id="bad-type",
        ),
        pytest.param(
            {"nameserver": "10.0.0.1:99999"},
            [
                (
                    "config.nameserver",
                    "'10.0.0.1:99999' has a port that is not a number from 1 to 65535",
                )
            ],
            id="bad-port",
        ),
        pytest.param(
            {"expectedValues": "127.0.0.1"},
            [("config.expectedValues", "must be a list of non-empty strings")],
            id="values-not-list",
        ),
        pytest.param(
            {"matchMode": "some"},
            [("config.matchMode", "must be one of any, all, exact")],
            id="bad-mode",
        ),
    ],
)
def test_validate_config_names_each_bad_field(
    config: dict[str, Any], issues: list[tuple[str, str]]
) -> None:
    assert validate_config(config) == issues


async def test_run_queries_nameserver_over_ipv6() -> None:
    try:
        server = DnsServer(ZONE, host="::1").start()
    except RuntimeError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        result = await run(monitor("api.test", nameserver=server.address), CheckContext())
    finally:
        server.stop()

    assert result.status == "UP", result.error
    assert result.details["nameserver"] == f"[::1]:{server.port}"


async def test_run_retransmits_when_the_first_datagram_is_lost(dns_server: DnsServer) -> None:
    dns_server.lose_first("api.test.", 1)

    result = await run(monitor("api.test", timeout_s=2.0), context(dns_server))

    assert result.status == "UP", result.error
    assert result.details["transport"] == "udp"
    assert dns_server.queries.count(("api.test.", "lost:A")) == 1
    assert dns_server.queries.count(("api.test.", "A")) == 1
    # The retry went out after one try's wait (2 s / 3), not after the whole timeout.
    assert result.response_time_ms is not None
    assert 600 <= result.response_time_ms < 1500


async def test_run_fails_when_every_datagram_is_lost(dns_server: DnsServer) -> None:
    dns_server.lose_first("api.test.", 100)

    result = await run(monitor("api.test", timeout_s=0.6), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == f"DNS: no answer from {dns_server.address} within 0.6 s"
    # Three sends within the timeout, each a try's share of it.
    assert dns_server.queries.count(("api.test.", "lost:A")) == 3


async def test_run_reports_a_closed_nameserver_port_at_once() -> None:
    with DnsServer(ZONE) as server:
        closed = server.address  # nothing listens here once the server has stopped
    ctx = CheckContext(nameservers=(closed,))
    started = time.monotonic()

    result = await run(monitor("api.test", timeout_s=5.0), ctx)

    elapsed = time.monotonic() - started
    assert result.status == "DOWN"
    assert result.error == f"DNS: could not query {closed} (refused: nothing listens on that port)"
    assert elapsed < 1.0  # the ICMP port unreachable, not the 5 s timeout


async def test_run_names_the_missing_target_of_a_dangling_cname(dns_server: DnsServer) -> None:
    dns_server.set_records("old.test.", "CNAME", ["gone.example."])

    result = await run(monitor("old.test"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == (
        "DNS: old.test is a CNAME to gone.example, which does not exist (NXDOMAIN)"
    )
    assert result.details["canonicalName"] == "gone.example"


async def test_run_names_the_cname_target_without_the_record_type(dns_server: DnsServer) -> None:
    result = await run(monitor("www.test", recordType="SRV"), context(dns_server))

    assert result.status == "DOWN"
    assert result.error == "DNS: www.test is a CNAME to api.test, which has no SRV records"
