"""Addresses of a status page and of its subscribers' confirm and unsubscribe links."""

from __future__ import annotations

from store.status_page_models import StatusPage


def page_url(page: StatusPage, base_url: str) -> str:
    """Its verified custom domain, else ``<base>/status/<slug>``."""
    if page.custom_domain and page.domain_verified_at is not None:
        return f"https://{page.custom_domain}"
    return f"{base_url}/status/{page.slug}"


def confirm_url(page: StatusPage, base_url: str, token: str) -> str:
    return f"{base_url}/status/{page.slug}/subscribe/confirm?token={token}"


def unsubscribe_url(page: StatusPage, base_url: str, token: str) -> str:
    return f"{base_url}/status/{page.slug}/unsubscribe?token={token}"
