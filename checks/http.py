"""HTTP(S) check: request, follow redirects ourselves, then judge the final response.

Redirects are followed here, not by httpx, so every hop is resolved and timed
the same way. Timings describe the final hop (``details["timingsOf"]``);
``response_time_ms`` covers the whole check, redirects included.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from checks.assertions import Observed, Outcome, evaluate, expect_keyword, expect_status
from checks.base import CheckContext, CheckResult, MonitorSpec
from checks.http_config import HttpOptions, validate_config
from checks.http_exchange import Exchange, ExchangeError, Request, exchange, is_redirect
from checks.target_policy import TargetPolicy

KEEP_FOR_MATCHING = 1_000_000  # body bytes kept when a keyword or JSON path needs them
EVIDENCE_BYTES = 2048


class _RedirectError(Exception):
    def __init__(self, message: str, final: Exchange) -> None:
        super().__init__(message)
        self.message = message
        self.final = final


async def run(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    checked_at = ctx.clock.now()
    result = await _check(monitor, ctx)
    result.checked_at = checked_at
    return result


async def _check(monitor: MonitorSpec, ctx: CheckContext) -> CheckResult:
    issues = validate_config(monitor.config, monitor_type="HTTP")
    if issues:
        listed = "; ".join(f"{field} {issue}" for field, issue in issues)
        return CheckResult("DOWN", error=f"Invalid monitor config: {listed}. Fix the monitor.")
    options = HttpOptions.from_monitor(monitor)
    try:
        url = httpx.URL(monitor.url)
    except httpx.InvalidURL as exc:
        return CheckResult("DOWN", error=f"Invalid URL {monitor.url!r}: {exc}")
    if url.scheme not in ("http", "https") or not url.host:
        return CheckResult("DOWN", error=f"Invalid URL {monitor.url!r}: use http:// or https://")
    started = time.perf_counter()
    chain: list[dict[str, Any]] = []
    try:
        first_started, final = await _follow(
            url,
            options,
            ctx,
            timeout_s=monitor.timeout_s,
            keep_bytes=_kept_body_bytes(monitor, options),
            chain=chain,
            policy=ctx.policy(monitor),
        )
    except ExchangeError as exc:
        return _failed(exc, chain, elapsed_ms=_ms_since(started))
    except _RedirectError as exc:
        return _judged(exc.final, [exc.message], [], chain, elapsed_ms=_ms_since(started))
    # From the first hop's start to the final body: the time a visitor waits.
    elapsed_ms = (final.finished_at - first_started) * 1000
    outcomes = _assess(final, monitor, options, elapsed_ms=elapsed_ms)
    failures = [o.message for o in outcomes if not o.passed and o.message]
    return _judged(final, failures, outcomes, chain, elapsed_ms=elapsed_ms)


async def _follow(
    url: httpx.URL,
    options: HttpOptions,
    ctx: CheckContext,
    *,
    timeout_s: float,
    keep_bytes: int,
    chain: list[dict[str, Any]],
    policy: TargetPolicy,
) -> tuple[float, Exchange]:
    """(when the first hop started, the final response), following redirects when asked.

    ``chain`` gets each hop left behind.
    """
    first_started: float | None = None
    deadline = time.monotonic() + timeout_s
    request = Request(
        url=url,
        method=options.method,
        headers=options.headers,
        body=options.body.encode() if options.body is not None else None,
        verify_tls=options.verify_tls,
    )
    hops_left = options.max_redirects
    while True:
        response = await exchange(
            request,
            ctx,
            deadline=deadline,
            timeout_s=timeout_s,
            keep_bytes=keep_bytes,
            redirect_body=not options.follow_redirects,
            policy=policy,
        )
        if first_started is None:
            first_started = response.started_at
        if not (options.follow_redirects and is_redirect(response.status_code, response.headers)):
            return first_started, response
        if hops_left == 0:
            message = f"Too many redirects (more than {options.max_redirects})"
            raise _RedirectError(message, response)
        hops_left -= 1
        chain.append({"url": str(request.url), "status": response.status_code})
        location = response.headers["location"]
        try:
            target = request.url.join(location)
        except httpx.InvalidURL:
            raise ExchangeError(f"Redirect to an invalid URL: {location!r}") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise ExchangeError(f"Redirect to an unsupported URL: {target}")
        request = _redirected(request, response.status_code, target)


def _kept_body_bytes(monitor: MonitorSpec, options: HttpOptions) -> int:
    matching = monitor.expected_keyword or any(
        a.get("type") == "json_path" for a in options.assertions
    )
    return KEEP_FOR_MATCHING if matching else EVIDENCE_BYTES


def _redirected(previous: Request, status_code: int, target: httpx.URL) -> Request:
    """The next hop's request, changing method and headers as browsers do."""
    method, body = previous.method, previous.body
    see_other = status_code == 303 and method != "HEAD"
    if see_other or (status_code in (301, 302) and method == "POST"):
        method, body = "GET", None
    headers = dict(previous.headers)
    if (target.scheme, target.host, target.port) != (
        previous.url.scheme,
        previous.url.host,
        previous.url.port,
    ):
        # Credentials meant for one origin must not leak to another.
        headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
    return Request(
        url=target, method=method, headers=headers, body=body, verify_tls=previous.verify_tls
    )


def _assess(
    final: Exchange, monitor: MonitorSpec, options: HttpOptions, *, elapsed_ms: float
) -> list[Outcome]:
    """Expected status, keyword, then the configured assertions, in that order."""
    outcomes = []
    asserts_status = any(a.get("type") == "status_code" for a in options.assertions)
    if monitor.expected_status is not None or not asserts_status:
        outcomes.append(expect_status(final.status_code, monitor.expected_status))
    text = final.text
    if monitor.expected_keyword:
        outcomes.append(
            expect_keyword(text, monitor.expected_keyword, truncated=final.body_truncated)
        )
    observed = Observed(
        status_code=final.status_code,
        response_time_ms=elapsed_ms,
        headers=final.headers,
        body=text,
        body_truncated=final.body_truncated,
    )
    outcomes.extend(evaluate(options.assertions, observed))
    return outcomes


def _judged(
    final: Exchange,
    failures: list[str],
    outcomes: list[Outcome],
    chain: list[dict[str, Any]],
    *,
    elapsed_ms: float,
) -> CheckResult:
    details: dict[str, Any] = {
        "resolvedIp": final.resolved.address,
        "httpVersion": final.http_version,
    }
    if final.tls is not None:
        details["tls"] = final.tls
    if final.certificate is not None:
        details["certificate"] = final.certificate
    if chain:
        details["redirects"] = chain
        details["finalUrl"] = str(final.url)
        details["timingsOf"] = "final hop"
    assertion_details = [o.as_detail() for o in outcomes if o.type not in ("expected_status",)]
    if assertion_details:
        details["assertions"] = assertion_details
    if failures:
        details["failures"] = failures
        details["responseHeaders"] = dict(final.headers)
        details["body"] = final.text[:EVIDENCE_BYTES]
    return CheckResult(
        "DOWN" if failures else "UP",
        response_time_ms=round(elapsed_ms),
        status_code=final.status_code,
        timings=final.timings,
        size_bytes=final.size_bytes,
        error=failures[0] if failures else None,
        details=details,
    )


def _failed(exc: ExchangeError, chain: list[dict[str, Any]], *, elapsed_ms: float) -> CheckResult:
    details: dict[str, Any] = {}
    if exc.resolved is not None:
        details["resolvedIp"] = exc.resolved.address
    if chain:
        details["redirects"] = chain
    return CheckResult(
        "DOWN", response_time_ms=round(elapsed_ms), error=exc.message, details=details
    )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
