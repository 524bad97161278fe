"""Render benchmark: MJML compile time per issue and personalisation time per message.

Targets from issue 2: compile <= 1 ms per issue, personalise <= 100 µs per message.
Run with `.venv/bin/python bench/render.py [SERIES_PATH]` (default: the seed series).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from newsletter.content import load_series
from newsletter.content.sample import SAMPLE_MANUSCRIPT
from newsletter.render import render_issue, sample_values
from newsletter.render.compile import compile_mjml

ROOT = Path(__file__).resolve().parent.parent
SEED = SAMPLE_MANUSCRIPT
SEED_SERIES = ROOT / "content" / "tech-labor-and-ai"  # the seed as imported into content/
COMPILE_TARGET_MS = 1.0
PERSONALISE_TARGET_US = 100.0


def timings(fn: Callable[[], object], repetitions: int) -> list[float]:
    """Seconds per call over `repetitions` calls, after a short warm-up."""
    for _ in range(min(50, repetitions)):
        fn()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def main() -> int:
    default = SEED_SERIES if SEED_SERIES.exists() else SEED
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    series = load_series(path)
    print(f"series {series.slug!r}: {len(series.essays)} essays from {path}")
    print(
        f"{'part':>4}  {'HTML KB':>7}  {'compile median':>14}  {'p95':>9}  "
        f"{'personalise median':>18}  {'p95':>9}"
    )
    ok = True
    for essay in series.essays:
        issue = render_issue(series, essay.number)
        values = sample_values(series.slug, essay.number)
        compile_med, compile_p95 = median_p95(timings(lambda i=issue: compile_mjml(i.mjml), 2000))
        pers_med, pers_p95 = median_p95(timings(lambda i=issue, v=values: i.personalise(v), 20000))
        html_kb = len(issue.personalise(values)[0].encode()) / 1024
        print(
            f"{essay.number:>4}  {html_kb:>7.1f}  {compile_med * 1e3:>11.3f} ms  "
            f"{compile_p95 * 1e3:>6.3f} ms  {pers_med * 1e6:>15.1f} µs  {pers_p95 * 1e6:>6.1f} µs"
        )
        ok &= compile_med * 1e3 <= COMPILE_TARGET_MS and pers_med * 1e6 <= PERSONALISE_TARGET_US
    print(
        f"targets: compile <= {COMPILE_TARGET_MS} ms, personalise <= {PERSONALISE_TARGET_US:.0f} µs"
        f" (median): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
