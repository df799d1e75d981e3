"""Receiver fixtures for alert channel tests (reusable by end-to-end tests); events in events.py.

``http_receiver`` answers 200 until told otherwise (``reply_with``);
``smtp_receiver`` accepts everything; ``delivery_ctx`` points email at it, and
``pagerduty_ctx`` points the PagerDuty events URL at ``http_receiver``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from alerting.channels.base import DeliveryContext
from tests.servers.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    async with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
async def smtp_receiver() -> AsyncIterator[SmtpReceiver]:
    async with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def delivery_ctx(smtp_receiver: SmtpReceiver) -> DeliveryContext:
    return DeliveryContext(
        smtp_host="127.0.0.1",
        smtp_port=smtp_receiver.port,
        smtp_from="vigil@example.com",
        timeout_s=5.0,
    )


@pytest.fixture
def pagerduty_ctx(http_receiver: HttpReceiver) -> DeliveryContext:
    return DeliveryContext(pagerduty_events_url=http_receiver.url_for("/v2/enqueue"), timeout_s=5.0)
