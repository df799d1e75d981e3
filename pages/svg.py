"""SVG drawn on the server: the response-time sparkline. Data in, SVG text out."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from html import escape


@functools.lru_cache(maxsize=64)
def _xs(count: int, width: int) -> tuple[str, ...]:
    """Each point's "x," text: the same for every sparkline of a page (50 of 90 points)."""
    step = width / max(1, count - 1)
    return tuple(f"{n * step if count > 1 else width / 2:.1f}," for n in range(count))


def sparkline(
    values: Sequence[float | None], *, width: int = 300, height: int = 40, label: str
) -> str:
    """A polyline of ``values`` left to right (None: a gap), scaled to the largest value.

    The picture is labelled for screen readers with ``label`` and the figures, so it
    says what it shows without being seen.
    """
    known = [v for v in values if v is not None]
    title = escape(label)
    if not known:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-label="{title}: no data"><title>{title}: no data</title></svg>'
        )
    top = max(known) or 1.0
    pad = 2
    xs = _xs(len(values), width)
    runs: list[list[str]] = [[]]
    for x, value in zip(xs, values, strict=True):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x}{pad + (height - 2 * pad) * (1 - value / top):.1f}")
    summary = (
        f"{title}: average {sum(known) / len(known):.0f} ms, "
        f"lowest {min(known):.0f} ms, highest {max(known):.0f} ms"
    )
    lines = "".join(
        f'<polyline points="{" ".join(run)}" fill="none" stroke="currentColor" '
        f'stroke-width="1.5" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>'
        if len(run) > 1
        else f'<circle cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}" r="1.5" '
        f'fill="currentColor"/>'
        for run in runs
        if run
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="none" aria-label="{summary}"><title>{summary}</title>{lines}</svg>'
    )
