"""Server-rendered SVG for the dashboard: no JavaScript, no chart library.

`rate_chart` turns the per-minute send counts into bar geometry, `count_chart` any labelled
counts (readers per part); the templates draw it, so every label goes through Jinja's
autoescaping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The labels are sized in viewBox units by the stylesheet (up to 27 on phones, where the
# chart shrinks to ~310 px), so the margins leave room for a four-digit axis value and a
# tick label of that size.
WIDTH, HEIGHT = 720, 200
LEFT, BOTTOM, TOP = 74, 36, 12
CROWDED = 6  # more tick labels than this: every other one is `minor` (hidden on phones)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class RateChart:
    width: int
    height: int
    bars: list[Bar]
    max_value: int
    gridlines: list[tuple[float, int]]  # (y, value)
    ticks: list[tuple[float, str]]  # (x, "HH:MM")
    baseline: float
    left: int
    total: int

    def is_minor(self, index: int) -> bool:
        """Whether tick label `index` steps aside on narrow screens (every other one of a
        crowded axis, so the rest can be large enough to read)."""
        return len(self.ticks) > CROWDED and index % 2 == 1


def _nice_max(value: int) -> int:
    """Round the axis maximum up to 1, 2 or 5 × 10^n so the gridlines read well."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def rate_chart(points: list[tuple[dt.datetime, int]]) -> RateChart:
    """Messages sent per minute: a bar per minute, a time under every tenth."""
    last = len(points) - 1
    return _chart(
        [n for _, n in points],
        [f"{minute:%H:%M} UTC: {n} sent" for minute, n in points],
        [
            (i, f"{minute:%H:%M}")
            for i, (minute, _) in enumerate(points)
            if i % 10 == 0 or i == last
        ],
    )


def count_chart(points: list[tuple[str, int]], noun: str) -> RateChart:
    """A bar per labelled count, each labelled under it (the series page's readers per
    part: "part 1", …, "finished", "paused")."""
    return _chart(
        [n for _, n in points],
        [f"{label}: {n} {noun}" for label, n in points],
        [(i, label) for i, (label, _) in enumerate(points)],
    )


def _chart(values: list[int], titles: list[str], ticks: list[tuple[int, str]]) -> RateChart:
    """Bar geometry for `values` (one `titles` entry each); `ticks` label bars by index."""
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - 6, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(values), 1)
    baseline = TOP + plot_h
    bars = []
    for i, (n, title) in enumerate(zip(values, titles, strict=True)):
        h = plot_h * n / top
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.1, 2),
                y=round(baseline - h, 2),
                width=round(slot * 0.8, 2),
                height=round(h, 2),
                label=title,
            )
        )
    gridlines = [(round(baseline - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    placed = [(round(LEFT + i * slot + slot / 2, 2), label) for i, label in ticks]
    return RateChart(WIDTH, HEIGHT, bars, top, gridlines, placed, baseline, LEFT, sum(values))
