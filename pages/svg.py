"""SVG drawn on the server: the response-time sparkline. Data in, SVG text out."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


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
    step = width / max(1, len(values) - 1)
    pad = 2
    runs: list[list[str]] = [[]]
    for n, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        x = n * step if len(values) > 1 else width / 2
        y = pad + (height - 2 * pad) * (1 - value / top)
        runs[-1].append(f"{x:.1f},{y:.1f}")
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
