"""How every HTTP channel classifies a receiver's failure (through ``post_json``)."""

from __future__ import annotations

import pytest

from alerting.channels.base import DeliveryContext
from alerting.channels.posting import post_json
from tests.servers.receivers import HttpReceiver, Reply, refused_port

BODY = b'{"text":"hi"}'


async def test_post_json_connection_refused_is_retryable_and_says_so() -> None:
    with refused_port() as port:
        delivery = await post_json(
            f"http://127.0.0.1:{port}/hook",
            BODY,
            DeliveryContext(timeout_s=5),
            receiver="Slack",
            policy=None,
        )
    assert not delivery.ok and not delivery.permanent
    assert delivery.status_code is None
    assert delivery.error == (
        f"could not connect to Slack at 127.0.0.1:{port}: connection refused; "
        "check that it is running and reachable from Vigil, will retry"
    )


async def test_post_json_timeout_is_retryable_and_says_so(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(Reply(hang=True))
    delivery = await post_json(
        http_receiver.url_for("/hook"),
        BODY,
        DeliveryContext(timeout_s=0.3),
        receiver="Slack",
        policy=None,
    )
    assert not delivery.ok and not delivery.permanent
    assert delivery.error == (
        f"Slack at 127.0.0.1:{http_receiver.port} did not answer within 0.3 s; "
        "it may be overloaded or unreachable, will retry"
    )
    assert len(await http_receiver.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("reply", "permanent", "error"),
    [
        pytest.param(
            Reply(500, "boom"),
            False,
            "hook answered 500 Internal Server Error: boom; will retry",
            id="500",
        ),
        pytest.param(
            Reply(503), False, "hook answered 503 Service Unavailable; will retry", id="503"
        ),
        pytest.param(
            Reply(429, headers={"Retry-After": "30"}),
            False,
            "hook answered 429 Too Many Requests; will retry (it asked to wait 30 s)",
            id="429",
        ),
        pytest.param(Reply(408), False, "hook answered 408 Request Timeout; will retry", id="408"),
        pytest.param(
            Reply(400, "invalid_payload"),
            True,
            "hook rejected the alert with 400 Bad Request: invalid_payload; "
            "check the channel's URL and credentials, retrying will not help",
            id="400",
        ),
        pytest.param(
            Reply(404, "no_service"),
            True,
            "hook rejected the alert with 404 Not Found: no_service; "
            "check the channel's URL and credentials, retrying will not help",
            id="404",
        ),
        pytest.param(
            Reply(301, headers={"Location": "https://new.example.com/hook"}),
            True,
            "hook redirected (301 Moved Permanently) to https://new.example.com/hook; "
            "update the channel's URL",
            id="redirect",
        ),
    ],
)
async def test_post_json_classifies_answer(
    http_receiver: HttpReceiver, reply: Reply, permanent: bool, error: str
) -> None:
    http_receiver.reply_with(reply)
    delivery = await post_json(
        http_receiver.url_for("/hook"),
        BODY,
        DeliveryContext(timeout_s=5),
        receiver="hook",
        policy=None,
    )
    assert (delivery.ok, delivery.permanent, delivery.status_code) == (
        False,
        permanent,
        reply.status,
    )
    assert delivery.error == error


async def test_post_json_accepts_any_2xx(http_receiver: HttpReceiver) -> None:
    http_receiver.reply_with(202)
    delivery = await post_json(http_receiver.url_for("/hook"), BODY, DeliveryContext(), policy=None)
    assert delivery.ok and delivery.status_code == 202
    (request,) = await http_receiver.wait_for(1)
    assert request.body == BODY


async def test_post_json_unusable_url_is_permanent() -> None:
    delivery = await post_json(
        "ftp://example.com/hook?token=tok-0123456789",
        BODY,
        DeliveryContext(),
        receiver="hook",
        policy=None,
    )
    assert not delivery.ok and delivery.permanent
    assert delivery.error is not None and "fix the channel's URL" in delivery.error
    assert "tok-0123456789" not in delivery.error  # the error is logged and shown
