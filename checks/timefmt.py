"""Durations as a person reads them in error messages."""

from __future__ import annotations


def seconds_text(seconds: float) -> str:
    """``10`` -> "10 s", ``0.5`` -> "0.5 s", ``9.9998`` -> "10 s"."""
    return f"{round(seconds, 2):g} s"
