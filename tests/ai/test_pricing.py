"""Pricing: the cached flat-rate path equals genai-prices' own calc_price; unknown stays None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from genai_prices import Usage, calc_price

from ai.event import EventInput
from ai.pricing import Override, genai_price, price

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _event(provider: str, model: str, **tokens: int) -> EventInput:
    inp, out = tokens.pop("input", 1000), tokens.pop("output", 200)
    return EventInput(
        provider=provider,
        model=model,
        input_tokens=inp,
        output_tokens=out,
        total_tokens=inp + out,
        latency_ms=100,
        created_at=AT,
        cache_read_tokens=tokens.get("read"),
        cache_write_tokens=tokens.get("write"),
    )


@pytest.mark.parametrize(
    ("provider", "model", "tokens"),
    [
        pytest.param("openai", "gpt-4o", {}, id="gpt-4o"),
        pytest.param("openai", "gpt-4o-mini", {"read": 400}, id="gpt-4o-mini-cached"),
        pytest.param(
            "anthropic", "claude-sonnet-4-20250514", {"read": 300, "write": 200}, id="claude"
        ),
        # Tiered above 200k input tokens: priced by calc_price itself.
        pytest.param("google", "gemini-2.5-pro", {"input": 250_000}, id="gemini-tiered"),
    ],
)
def test_price_equals_genai_prices(provider: str, model: str, tokens: dict[str, int]) -> None:
    event = _event(provider, model, **tokens)
    want = calc_price(
        Usage(
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            cache_read_tokens=event.cache_read_tokens,
            cache_write_tokens=event.cache_write_tokens,
        ),
        model,
        provider_id=provider,
        genai_request_timestamp=AT,
    ).total_price
    assert genai_price(event) == pytest.approx(float(want), rel=1e-12)


def test_unknown_model_is_unpriced_not_zero() -> None:
    priced = price(_event("openai", "no-such-model-9000"), {})
    assert priced.cost_usd is None and priced.source is None


def test_override_prices_cache_tokens_at_their_rates_or_the_input_rate() -> None:
    event = _event("acme", "m", input=1000, output=100, read=200, write=100)
    rates = Override(input_per_mtok=2.0, output_per_mtok=8.0, cache_read_per_mtok=0.5)
    got = price(event, {"m": rates})
    assert got.source == "override"
    assert got.cost_usd == pytest.approx((700 * 2 + 200 * 0.5 + 100 * 2 + 100 * 8) / 1e6)
