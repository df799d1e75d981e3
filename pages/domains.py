"""Custom domains: the TXT record that proves a page's owner controls the domain.

The owner publishes ``vigil-verify=<token>`` at ``_vigil-verification.<domain>``;
the token is random (192 bits) and compared in constant time. Housekeeping asks
again every day and unpublishes a domain whose record is gone, so a domain that
later points elsewhere cannot be served as someone else's page (takeover).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import dns.asyncresolver
import dns.exception
import dns.resolver
from sqlalchemy import or_, select

from checks.resolve import resolver_for
from store.db import Store
from store.status_page_models import StatusPage

log = logging.getLogger(__name__)

TOKEN_PREFIX = "vigil-verify="
RECORD_PREFIX = "_vigil-verification."
RECORD_TTL = 300
REVERIFY_EVERY = timedelta(days=1)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def record_name(domain: str) -> str:
    return RECORD_PREFIX + domain


def token_matches(values: Sequence[str], token: str) -> bool:
    """True when one TXT value is exactly ``token`` (each compared in constant time)."""
    wanted = token.encode()
    found = False
    for value in values:
        # No early exit: the time taken does not tell which value came close.
        found |= hmac.compare_digest(value.strip().encode(), wanted)
    return found


async def txt_values(
    domain: str, *, nameservers: tuple[str, ...], timeout_s: float = 5.0
) -> list[str] | None:
    """The TXT strings at ``_vigil-verification.<domain>``; [] when none, None on DNS failure."""
    resolver: dns.asyncresolver.Resolver = resolver_for(nameservers)
    try:
        answer = await resolver.resolve(
            record_name(domain), "TXT", lifetime=timeout_s, search=False
        )
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        log.info("TXT lookup for %s failed: %s", domain, exc)
        return None
    return [b"".join(r.strings).decode(errors="replace") for r in answer]


def apply_lookup(page: StatusPage, values: list[str] | None, *, now: datetime) -> bool:
    """Mark the page verified or not from a lookup's TXT values; True when verified.

    A DNS failure (``values`` None: timeout, SERVFAIL) changes nothing: a flaky
    resolver must not unpublish a page whose record is still there.
    """
    page.domain_checked_at = now
    if values is None:
        return page.domain_verified_at is not None
    if page.domain_token and token_matches(values, page.domain_token):
        if page.domain_verified_at is None:
            page.domain_verified_at = now
        return True
    if page.domain_verified_at is not None:
        log.warning("TXT record of %s is gone: domain unpublished", page.custom_domain)
    page.domain_verified_at = None
    return False


async def verify(page: StatusPage, *, nameservers: tuple[str, ...], now: datetime) -> bool:
    """Look the record up now and mark the page; True when verified."""
    if not page.custom_domain or not page.domain_token:
        return False
    values = await txt_values(page.custom_domain, nameservers=nameservers)
    return apply_lookup(page, values, now=now)


async def reverify_domains(
    store: Store, *, nameservers: tuple[str, ...], now: datetime, limit: int = 100
) -> int:
    """Re-check verified domains not checked for a day; returns how many were checked.

    The lookups run outside any transaction (a slow resolver must not hold rows);
    each result is written on its own, if the domain did not change meanwhile.
    """
    async with store.transaction() as session:
        due = (
            await session.execute(
                select(StatusPage.id, StatusPage.custom_domain, StatusPage.domain_token)
                .where(
                    StatusPage.domain_verified_at.is_not(None),
                    or_(
                        StatusPage.domain_checked_at.is_(None),
                        StatusPage.domain_checked_at <= now - REVERIFY_EVERY,
                    ),
                )
                .order_by(StatusPage.domain_checked_at)
                .limit(limit)
            )
        ).all()
    for page_id, domain, token in due:
        if not domain or not token:
            continue
        values = await txt_values(domain, nameservers=nameservers)
        async with store.transaction() as session:
            page = await session.get(StatusPage, page_id)
            if page is not None and (page.custom_domain, page.domain_token) == (domain, token):
                apply_lookup(page, values, now=now)
    return len(due)
