"""Cost of an AI event: the client's figure, the owner's override, or ``genai-prices``.

An event whose model neither ``genai-prices`` nor an override knows stays
unpriced (``None``), never $0, so totals say how much they leave out.

``genai-prices`` takes about a millisecond per call (it resolves price units and
works in Decimal); at thousands of events a second that is the whole CPU. The
price of a (provider, model) at a time is looked up once and cached; when its
input, output and cache prices are flat per-token rates the cost is computed
here from them (the same arithmetic, checked against ``calc_price`` by the
tests), and anything else (tiered prices, a missing cache rate) goes through
``calc_price`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import genai_prices
from genai_prices import Usage, calc_price, data_snapshot

from ai.event import EventInput

PRICE_VERSION = f"genai-prices {genai_prices.__version__}"
OVERRIDE_VERSION = "override"
_FLAT = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Override:
    """An owner's price for a model, USD per million tokens; cache rates default to input."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None


@dataclass(frozen=True)
class Priced:
    cost_usd: float | None
    source: str | None
    version: str | None


UNPRICED = Priced(None, None, None)


@dataclass(frozen=True)
class _Rates:
    """Flat USD-per-million rates, or ``model_ref`` when only ``calc_price`` can price it."""

    model_ref: str
    provider_id: str | None
    flat: tuple[Decimal | None, ...] | None


# (provider, model, UTC day) -> rates, or None for a model genai-prices does not know.
_rates: dict[tuple[str, str, str], _Rates | None] = {}


def _find(provider: str, model: str, at: datetime) -> _Rates | None:
    key = (provider, model, at.strftime("%Y-%m-%d"))
    if key in _rates:
        return _rates[key]
    snapshot = data_snapshot.get_snapshot()
    found: Any = None
    used_provider: str | None = provider
    for provider_id in (provider, None):
        try:
            found = snapshot.find_provider_model(model, None, provider_id, None)
            used_provider = provider_id
            break
        except LookupError:
            continue
    rates: _Rates | None = None
    if found is not None:
        prov, info = found
        prices = info.get_prices(at)
        values = [getattr(prices, name, None) for name in _FLAT]
        flat_ok = all(v is None or isinstance(v, Decimal) for v in values) and all(
            values[i] is not None for i in (0, 1)
        )
        # A missing cache rate is priced by genai-prices' own rule: let it decide.
        flat = tuple(values) if flat_ok else None
        rates = _Rates(model_ref=model, provider_id=used_provider or prov.id, flat=flat)
    if len(_rates) >= _CACHE_MAX:
        _rates.clear()
    _rates[key] = rates
    return rates


def _from_flat(flat: tuple[Decimal | None, ...], event: EventInput) -> Decimal | None:
    input_rate, output_rate, read_rate, write_rate = flat
    assert input_rate is not None and output_rate is not None
    read = event.cache_read_tokens or 0
    write = event.cache_write_tokens or 0
    if (read and read_rate is None) or (write and write_rate is None):
        return None
    total = (
        Decimal(event.input_tokens - read - write) * input_rate
        + Decimal(read) * (read_rate or 0)
        + Decimal(write) * (write_rate or 0)
        + Decimal(event.output_tokens) * output_rate
    )
    return total / 1_000_000


def genai_price(event: EventInput) -> float | None:
    """The event's cost from genai-prices at the event's time, or None if unknown."""
    rates = _find(event.provider, event.model, event.created_at)
    if rates is None:
        return None
    if rates.flat is not None:
        quick = _from_flat(rates.flat, event)
        if quick is not None:
            return float(quick)
    usage = Usage(
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cache_read_tokens=event.cache_read_tokens or None,
        cache_write_tokens=event.cache_write_tokens or None,
    )
    try:
        calc = calc_price(
            usage,
            rates.model_ref,
            provider_id=rates.provider_id,
            genai_request_timestamp=event.created_at,
        )
    except (LookupError, ValueError):
        return None
    return float(calc.total_price)


def override_price(event: EventInput, override: Override) -> float:
    """The event's cost at the owner's rates (cache rates default to the input rate)."""
    read = event.cache_read_tokens or 0
    write = event.cache_write_tokens or 0
    read_rate = override.cache_read_per_mtok
    write_rate = override.cache_write_per_mtok
    total = (
        (event.input_tokens - read - write) * override.input_per_mtok
        + read * (override.input_per_mtok if read_rate is None else read_rate)
        + write * (override.input_per_mtok if write_rate is None else write_rate)
        + event.output_tokens * override.output_per_mtok
    )
    return total / 1_000_000


def price(event: EventInput, overrides: Mapping[str, Override]) -> Priced:
    """Price one event: the client's cost wins, then the owner's override, then genai-prices."""
    if event.client_cost_usd is not None:
        return Priced(event.client_cost_usd, "client", None)
    override = overrides.get(event.model)
    if override is not None:
        return Priced(override_price(event, override), "override", OVERRIDE_VERSION)
    cost = genai_price(event)
    if cost is None:
        return UNPRICED
    return Priced(cost, "genai-prices", PRICE_VERSION)


def known_model(provider: str, model: str, at: datetime) -> bool:
    """Whether genai-prices has a price for this model."""
    return _find(provider.lower(), model, at) is not None
