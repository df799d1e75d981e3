"""Masking and scrubbing rules: at most 4 characters of a secret ever shown."""

from __future__ import annotations

import pytest

from alerting.redact import mask_secret, mask_url, scrub, secrets_of


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("abcdefghijk", "\u2026", id="11-chars-shows-nothing"),
        pytest.param("abcdefghijkl", "\u2026ijkl", id="12-chars-shows-last-4"),
        pytest.param("", "\u2026", id="empty"),
    ],
)
def test_mask_secret_shows_at_most_four_characters(value: str, shown: str) -> None:
    assert mask_secret(value) == shown


@pytest.mark.parametrize(
    ("url", "every", "shown"),
    [
        pytest.param(
            "https://u:hunter2hunter2@h.example/p?token=abcdefghijkl&x=1",
            False,
            "https://u:\u2026ter2@h.example/p?token=\u2026ijkl&x=1",
            id="monitor",
        ),
        pytest.param(
            "https://h.example/hook?id=abcdefghijkl&x=1",
            True,
            "https://h.example/hook?id=\u2026ijkl&x=\u2026",
            id="webhook-every-value",
        ),
        pytest.param(
            "https://h.example/p?region=eu", False, "https://h.example/p?region=eu", id="plain"
        ),
    ],
)
def test_mask_url(url: str, every: bool, shown: str) -> None:
    assert mask_url(url, every_query_value=every) == shown


def test_secrets_of_takes_credentials_not_ordinary_headers() -> None:
    config = {"headers": {"Authorization": "Bearer abcdef123456", "Accept": "application/json"}}
    url = "https://bot:pa55word-9876@h.example/?api_key=k-0123456789&region=europe"
    assert set(secrets_of(url, config)) == {"Bearer abcdef123456", "pa55word-9876", "k-0123456789"}


def test_scrub_masks_inside_nested_details() -> None:
    details = {"body": "auth=Bearer abcdef123456", "list": ["x Bearer abcdef123456"], "n": 3}
    assert scrub(details, ["Bearer abcdef123456"]) == {
        "body": "auth=\u20263456",
        "list": ["x \u20263456"],
        "n": 3,
    }
