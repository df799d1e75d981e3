"""The test receivers themselves: the end-to-end alerting tests rely on their replies."""

from __future__ import annotations

import httpx
import pytest

from tests.servers.receivers import HttpReceiver, Reply


async def test_http_receiver_answers_planned_replies_then_default() -> None:
    async with HttpReceiver(replies=[503, 503, 503], default=Reply(200, "ok")) as receiver:
        async with httpx.AsyncClient() as client:
            codes = [
                (await client.post(receiver.url_for("/h"), content=b"x")).status_code
                for _ in range(5)
            ]
        assert codes == [503, 503, 503, 200, 200]
        assert len(await receiver.wait_for(5)) == 5


async def test_http_receiver_wait_for_reports_shortfall(http_receiver: HttpReceiver) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(http_receiver.url_for("/h"), content=b"x")
    with pytest.raises(AssertionError, match=r"^expected 2 requests within 0.2 s, got 1$"):
        await http_receiver.wait_for(2, timeout=0.2)


def test_http_receiver_works_from_sync_code() -> None:
    with HttpReceiver() as receiver:
        response = httpx.post(receiver.url_for("/sync?a=1"), json={"k": "v"})
        (request,) = receiver.wait_for_sync(1)
    assert response.status_code == 200
    assert request.path == "/sync?a=1"
    assert request.json() == {"k": "v"}
