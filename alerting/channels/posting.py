"""One JSON POST to a receiver, with its outcome turned into a ``Delivery``.

Slack, webhook and PagerDuty channels all send this way, so they agree on what is
retried: network errors, timeouts, 408, 429 and 5xx are; any other answer outside
2xx (a wrong URL, a rejected key, a redirect) is permanent until someone fixes the
channel.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from alerting.channels.base import Delivery, DeliveryContext
from checks.target_policy import TargetPolicy

_RETRYABLE_4XX = frozenset({408, 425, 429})
_EXCERPT_CHARS = 200


def user_agent() -> str:
    """``Vigil/<version>`` from the installed package metadata."""
    try:
        version = importlib.metadata.version("vigil")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return f"Vigil/{version}"


def encode_json(body: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are sent (and signed)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def post_json(
    url: str,
    raw_body: bytes,
    ctx: DeliveryContext,
    *,
    headers: Mapping[str, str] | None = None,
    receiver: str = "the receiver",
    policy: TargetPolicy | None,
) -> Delivery:
    """POST ``raw_body`` as JSON to ``url``; never raises for the receiver's failure.

    ``policy`` judges a URL an organization chose (None: the operator's own URL,
    such as PagerDuty's events endpoint); a refused address is a permanent failure.
    """
    sent_headers = {"Content-Type": "application/json", "User-Agent": user_agent()}
    sent_headers.update(headers or {})
    where = _where(url)
    try:
        target: str | httpx.URL = url
        extensions: dict[str, Any] = {}
        if policy is not None and not policy.trusted:
            target, extensions = await _pinned(url, sent_headers, policy)
        async with httpx.AsyncClient(timeout=ctx.timeout_s, verify=ctx.ssl_context) as client:
            response = await client.post(
                target, content=raw_body, headers=sent_headers, extensions=extensions
            )
    except RefusedAddress as exc:
        return Delivery(ok=False, permanent=True, error=f"{receiver}: {exc}")
    except OSError as exc:  # resolving the host for _pinned
        reason, advice = _reason(exc)
        return Delivery(
            ok=False,
            error=f"could not connect to {receiver} at {where}: {reason}; {advice}, will retry",
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return Delivery(
            ok=False,
            permanent=True,
            # Not the URL itself: its path or query is often the channel's token.
            error=f"{receiver} URL cannot be used ({exc}); fix the channel's URL",
        )
    except httpx.TimeoutException:
        return Delivery(
            ok=False,
            error=(
                f"{receiver} at {where} did not answer within {ctx.timeout_s:g} s; "
                "it may be overloaded or unreachable, will retry"
            ),
        )
    except httpx.ConnectError as exc:
        reason, advice = _reason(exc)
        return Delivery(
            ok=False,
            error=f"could not connect to {receiver} at {where}: {reason}; {advice}, will retry",
        )
    except httpx.TransportError as exc:
        reason, advice = _reason(exc)
        return Delivery(
            ok=False,
            error=f"sending to {receiver} at {where} failed: {reason}; {advice}, will retry",
        )
    return outcome(response, receiver=receiver)


class RefusedAddress(Exception):
    """The receiver's address is one its organization may not reach."""


async def _pinned(
    url: str, headers: dict[str, str], policy: TargetPolicy
) -> tuple[httpx.URL, dict[str, Any]]:
    """``url`` with its host replaced by the one address judged by ``policy``.

    The connection goes to that address, with the original Host header and TLS
    server name (so the certificate is still checked against the name): a second
    DNS lookup, which could answer differently, never happens.
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return parsed, {}  # httpx refuses it with its own message
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    address = str(infos[0][4][0])
    refused = policy.refusal(address, host=parsed.host)
    if refused is not None:
        raise RefusedAddress(refused)
    headers["Host"] = parsed.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https" and parsed.host != address:
        extensions["sni_hostname"] = parsed.host
    return parsed.copy_with(host=address), extensions


def outcome(response: httpx.Response, *, receiver: str = "the receiver") -> Delivery:
    """Classify an HTTP answer: 2xx delivered, 408/429/5xx retried, the rest permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return Delivery(ok=True, status_code=code)
    answer = f"{code} {response.reason_phrase}".strip()
    excerpt = _excerpt(response)
    said = f": {excerpt}" if excerpt else ""
    if code in _RETRYABLE_4XX or code >= 500:
        retry_after = response.headers.get("Retry-After")
        wait = f" (it asked to wait {retry_after} s)" if retry_after else ""
        return Delivery(
            ok=False,
            status_code=code,
            error=f"{receiver} answered {answer}{said}; will retry{wait}",
        )
    if 300 <= code < 400:
        location = response.headers.get("Location", "another URL")
        return Delivery(
            ok=False,
            permanent=True,
            status_code=code,
            error=f"{receiver} redirected ({answer}) to {location}; update the channel's URL",
        )
    return Delivery(
        ok=False,
        permanent=True,
        status_code=code,
        error=(
            f"{receiver} rejected the alert with {answer}{said}; "
            "check the channel's URL and credentials, retrying will not help"
        ),
    )


def _where(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "the configured URL"


def _reason(exc: Exception) -> tuple[str, str]:
    """What went wrong and what to do, from the OS error httpx wraps a few levels down."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for error in chain:
        if isinstance(error, ConnectionRefusedError):
            return "connection refused", "check that it is running and reachable from Vigil"
        if isinstance(error, socket.gaierror):
            return (
                f"the host name could not be resolved ({error.strerror})",
                "check the host name in the channel's URL",
            )
        if isinstance(error, ssl.SSLCertVerificationError):
            return (
                f"its TLS certificate is not trusted ({error.verify_message})",
                "give it a certificate from a public CA or add its CA to Vigil's trust store",
            )
    text = str(chain[-1]) or str(exc) or type(exc).__name__
    return text, "check that it is running and reachable from Vigil"


def _excerpt(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return body if len(body) <= _EXCERPT_CHARS else body[:_EXCERPT_CHARS] + "\u2026"
