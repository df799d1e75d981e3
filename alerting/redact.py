"""Hiding secrets wherever they would be shown: API responses, alerts, check results.

A masked value shows at most its last 4 characters (``…wxyz``), and only when it
is long enough (12+) that 4 characters do not give most of it away. Masking is
deterministic, so a client that sends a masked value back unchanged can be told
apart from one that sets a new value (the stored secret is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

ELLIPSIS = "\u2026"
SHOWN_CHARS = 4
MIN_LENGTH_TO_SHOW = 12
# Query parameters whose value is a credential in a monitor's URL (all of a channel's are).
SECRET_WORDS = (
    "pass",
    "secret",
    "token",
    "key",
    "auth",
    "sig",
    "credential",
    "session",
    "cookie",
    "code",
)
# Header values shorter than this are not scrubbed out of free text (too many false hits).
MIN_SCRUBBED_LENGTH = 6


def mask_secret(value: str) -> str:
    """``…wxyz``: enough to recognise a secret, not enough to use it."""
    if len(value) >= MIN_LENGTH_TO_SHOW:
        return f"{ELLIPSIS}{value[-SHOWN_CHARS:]}"
    return ELLIPSIS


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def mask_url(url: str, *, every_query_value: bool = False) -> str:
    """The URL with its password and credential-looking query values masked.

    ``every_query_value``: mask all of them (a webhook URL, whose query is its token).
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return ELLIPSIS
    netloc = parts.netloc
    if password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username or ''}:{mask_secret(password)}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        hide = [every_query_value or is_secret_name(k) for k, _ in pairs]
        if any(hide):
            # The ellipsis stays readable; a mask's last 4 characters are quoted as usual.
            query = "&".join(
                f"{quote(k, safe='')}="
                + (ELLIPSIS + quote(mask_secret(v)[1:], safe="") if hidden else quote(v, safe=""))
                for (k, v), hidden in zip(pairs, hide, strict=True)
            )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Every header value masked: which ones carry credentials is the user's business."""
    return {k: mask_secret(v) if isinstance(v, str) else v for k, v in headers.items()}


def secrets_of(url: str, config: Mapping[str, Any]) -> list[str]:
    """A monitor's secret strings: its URL password, credential query and header values."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found.append(parts.password)
        found.extend(v for k, v in parse_qsl(parts.query) if is_secret_name(k) and v)
    except ValueError:
        pass
    headers = config.get("headers")
    if isinstance(headers, Mapping):
        # Only credential headers: scrubbing "Accept: application/json" out of a result
        # would mangle the response headers it shows.
        found.extend(v for k, v in headers.items() if isinstance(v, str) and is_secret_name(k))
    return sorted({s for s in found if len(s) >= MIN_SCRUBBED_LENGTH}, key=len, reverse=True)


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` (text, or JSON made of dicts and lists) with each secret masked."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, mask_secret(secret))
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value
