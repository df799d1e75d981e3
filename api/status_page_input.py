"""Validating status page bodies: the reference's rules, plan gates, components."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, FieldIssue
from store.models import Monitor
from store.status_page_models import StatusPage
from store.status_pages import ComponentSpec, domain_taken, slug_taken

SLUG = re.compile(r"^[a-z0-9-]{1,50}$")
# A DNS name of at least two labels, each 1-63 letters, digits or inner hyphens.
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
URL = re.compile(r"^(https?://[^\s<>\"']+|data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+)$")
MAX_CSS = 20_000
MAX_COMPONENTS = 500
BRANDING_PLANS = ("BUSINESS", "ENTERPRISE")
FIELDS = frozenset(
    {
        "name",
        "slug",
        "description",
        "customDomain",
        "monitors",
        "components",
        "hideBranding",
        "customCss",
        "faviconUrl",
        "logoUrl",
        "isPublic",
    }
)
READ_ONLY = frozenset({"id", "orgId", "createdAt", "updatedAt", "domainVerified"})


@dataclass
class PageInput:
    values: dict[str, Any] = field(default_factory=dict)
    components: list[ComponentSpec] | None = None


def _text(
    body: Mapping[str, Any],
    name: str,
    column: str,
    limit: int,
    issues: list[FieldIssue],
    out: dict[str, Any],
    *,
    nullable: bool,
) -> None:
    if name not in body:
        return
    value = body[name]
    if value is None and nullable:
        out[column] = None
    elif not isinstance(value, str) or (not nullable and not value.strip()):
        issues.append((name, "must be a non-empty string" if not nullable else "must be a string"))
    elif len(value.strip()) > limit:
        issues.append((name, f"must be at most {limit} characters"))
    else:
        out[column] = value.strip() or None if nullable else value.strip()


def _flag(
    body: Mapping[str, Any], name: str, column: str, issues: list[FieldIssue], out: dict[str, Any]
) -> None:
    if name in body:
        if isinstance(body[name], bool):
            out[column] = body[name]
        else:
            issues.append((name, "must be true or false"))


def _url(
    body: Mapping[str, Any], name: str, column: str, issues: list[FieldIssue], out: dict[str, Any]
) -> None:
    if name not in body:
        return
    value = body[name]
    if value is None or value == "":
        out[column] = None
    elif not isinstance(value, str) or len(value) > 100_000 or not URL.match(value.strip()):
        issues.append((name, "must be an http(s) URL or a data:image/...;base64 URL"))
    else:
        out[column] = value.strip()


def read_fields(body: Mapping[str, Any], *, creating: bool) -> tuple[PageInput, list[FieldIssue]]:
    """The columns a body sets, and every problem with it (components are read apart)."""
    issues: list[FieldIssue] = [
        (f, "is not a status page field") for f in sorted(set(body) - FIELDS - READ_ONLY)
    ]
    out: dict[str, Any] = {}
    if creating:
        for required in ("name", "slug"):
            if body.get(required) is None:
                issues.append((required, "is required"))
        if body.get("monitors") is None and body.get("components") is None:
            issues.append(("monitors", "is required: a list of monitor ids"))
    _text(body, "name", "name", 100, issues, out, nullable=False)
    if "slug" in body and body["slug"] is not None:
        slug = body["slug"]
        if not isinstance(slug, str) or not SLUG.match(slug):
            issues.append(
                ("slug", "must be 1-50 lowercase letters, numbers or hyphens, like acme-status")
            )
        else:
            out["slug"] = slug
    _text(body, "description", "description", 500, issues, out, nullable=True)
    _text(body, "customCss", "custom_css", MAX_CSS, issues, out, nullable=True)
    if isinstance(out.get("custom_css"), str) and "<" in out["custom_css"]:
        # The CSS goes inside a <style> element: "</style>" would end it.
        issues.append(("customCss", "must not contain '<'"))
    if "customDomain" in body:
        domain = body["customDomain"]
        if domain is None or domain == "":
            out["custom_domain"] = None
        elif not isinstance(domain, str) or not DOMAIN.match(domain.strip().lower().rstrip(".")):
            issues.append(("customDomain", "must be a domain name like status.example.com"))
        else:
            out["custom_domain"] = domain.strip().lower().rstrip(".")
    _flag(body, "hideBranding", "hide_branding", issues, out)
    _flag(body, "isPublic", "is_public", issues, out)
    _url(body, "faviconUrl", "favicon_url", issues, out)
    _url(body, "logoUrl", "logo_url", issues, out)
    if "monitors" in body and "components" in body:
        issues.append(("components", "cannot be given with monitors; send one of them"))
    return PageInput(values=out), issues


def check_plan(values: Mapping[str, Any], plan: str) -> None:
    """403 when the body uses branding the organization's plan does not include."""
    wanted = [
        name
        for name, column in (("customCss", "custom_css"), ("hideBranding", "hide_branding"))
        if values.get(column)
    ]
    if wanted and plan not in BRANDING_PLANS:
        raise ApiError(
            403,
            f"{' and '.join(wanted)} need the BUSINESS or ENTERPRISE plan; this organization "
            f"is on {plan}: upgrade, or leave {' and '.join(wanted)} out",
            fields=[(w, "requires the BUSINESS or ENTERPRISE plan") for w in wanted],
        )


async def read_components(
    session: AsyncSession, org_id: str, body: Mapping[str, Any], issues: list[FieldIssue]
) -> list[ComponentSpec] | None:
    """The components named by ``monitors`` (ids) or ``components`` (objects); None if neither."""
    if body.get("monitors") is not None:
        raw = body["monitors"]
        if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
            issues.append(("monitors", "must be a list of monitor ids"))
            return None
        entries: list[dict[str, Any]] = [{"monitorId": m} for m in raw]
        where = "monitors"
    elif body.get("components") is not None:
        raw = body["components"]
        if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
            issues.append(("components", "must be a list of objects with a monitorId"))
            return None
        entries, where = raw, "components"
    else:
        return None
    if len(entries) > MAX_COMPONENTS:
        issues.append((where, f"must list at most {MAX_COMPONENTS} components"))
        return None
    ids = [e.get("monitorId") for e in entries]
    monitors = {
        m.id: m
        for m in await session.scalars(
            select(Monitor).where(
                Monitor.org_id == org_id, Monitor.id.in_([i for i in ids if isinstance(i, str)])
            )
        )
    }
    specs: list[ComponentSpec] = []
    for n, entry in enumerate(entries):
        spec = _component(entry, monitors, f"{where}[{n}]", issues)
        if spec is not None:
            specs.append(spec)
    return specs


def _component(
    entry: Mapping[str, Any], monitors: Mapping[str, Monitor], at: str, issues: list[FieldIssue]
) -> ComponentSpec | None:
    extra = sorted(set(entry) - {"monitorId", "displayName", "group", "regions"})
    issues += [(f"{at}.{f}", "is not a component field") for f in extra]
    monitor_id = entry.get("monitorId")
    monitor = monitors.get(monitor_id) if isinstance(monitor_id, str) else None
    if monitor is None:
        issues.append((at, f"has no monitor with id {monitor_id!r} in this organization"))
        return None
    name = entry.get("displayName", monitor.name)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        issues.append((f"{at}.displayName", "must be a string of 1-100 characters"))
        return None
    group = entry.get("group")
    if group is not None and (not isinstance(group, str) or len(group.strip()) > 100):
        issues.append((f"{at}.group", "must be a string of at most 100 characters, or null"))
        return None
    regions = entry.get("regions")
    if regions is not None:
        if not isinstance(regions, list) or not regions:
            issues.append((f"{at}.regions", "must be a non-empty list of the monitor's regions"))
            return None
        unknown = [r for r in regions if r not in monitor.regions]
        if unknown:
            issues.append(
                (f"{at}.regions", f"names {unknown[0]!r}, not a region of monitor {monitor.id}")
            )
            return None
    return ComponentSpec(
        monitor_id=monitor.id,
        display_name=name.strip(),
        group_name=group.strip() or None if isinstance(group, str) else None,
        regions=tuple(regions) if regions is not None else None,
    )


async def uniqueness_error(
    session: AsyncSession, values: Mapping[str, Any], *, except_id: str | None = None
) -> ApiError | None:
    """The 409 for a slug or custom domain another page (of any organization) holds."""
    slug = values.get("slug")
    if slug and await slug_taken(session, slug, except_id=except_id):
        return ApiError(
            409,
            f"The slug {slug!r} is taken by another status page; choose another",
            fields=[("slug", "is taken")],
        )
    domain = values.get("custom_domain")
    if domain and await domain_taken(session, domain, except_id=except_id):
        return ApiError(
            409,
            f"The domain {domain!r} belongs to another status page",
            fields=[("customDomain", "is taken")],
        )
    return None


def reverify_domain(page: StatusPage, values: dict[str, Any]) -> None:
    """An update that changes the custom domain: the new one must be proven, with a new token."""
    if "custom_domain" in values and values["custom_domain"] != page.custom_domain:
        values.update(domain_token=None, domain_verified_at=None, domain_checked_at=None)
