"""The ``config`` object of an LLM monitor: none of its keys are used yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An LLM monitor takes no config keys: prices and keys have their own endpoints."""
    return [
        (
            f"config.{key}",
            "is not an LLM monitor setting (set prices with PUT /api/ai/prices/:model "
            "and the ingest key with POST /api/monitors/:id/ingest-key)",
        )
        for key in sorted(config)
    ]
