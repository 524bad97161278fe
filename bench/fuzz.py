"""Fuzz the manuscript parser and the CSV importer with hypothesis.

    .venv/bin/python bench/fuzz.py [--examples 10000] [--target manuscript|importer|import|all]

`importer` is the CSV validation alone; `import` also inserts every input's rows into a
fresh SQLite database (rolled back after each). Prints, per target, the inputs tried, how
many were refused with a one-line user error (the right answer to a bad file), the failures
(anything else that escaped, or a message that is not one plain line) and the seconds taken.
Exits 1 if any failure was found. Inputs and targets are in tests/support/fuzzing.py, which
the test suite runs briefly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _infra import ROOT  # noqa: F401  (puts the repository root on sys.path)
from hypothesis import strategies as st

from newsletter import content
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.scheduling.series import create_series
from tests.support.fuzzing import TARGETS, FuzzReport, csv_inputs, import_target, run


def _import_run(examples: int) -> FuzzReport:
    """The `import` target against a brand-new SQLite database with one series."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fuzz.db'}"
        os.environ.update(
            NEWSLETTER_DATABASE_URL=url, NEWSLETTER_DATA_DIR=tmp, NEWSLETTER_SECRET_KEY="fuzz"
        )
        reset_settings()
        upgrade(url)
        essay = content.Essay(1, "One", "one", (content.Block("paragraph", "Text."),))
        with transaction() as session:
            create_series(
                session,
                "fuzz",
                content.Series("fuzz", "Fuzz", (essay,)),
                "weekly",
                dt.datetime(2030, 1, 1, 9),
                "UTC",
                "broadcast",
            )
        return run(import_target("fuzz"), csv_inputs, examples)


def _runner(target: Callable[[Any], None], inputs: st.SearchStrategy[Any]) -> Any:
    return lambda examples: run(target, inputs, examples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--target", choices=[*TARGETS, "import", "all"], default="all")
    args = parser.parse_args()
    runs: dict[str, Callable[[int], FuzzReport]] = {
        name: _runner(target, inputs) for name, (target, inputs) in TARGETS.items()
    }
    runs["import"] = _import_run
    names = list(runs) if args.target == "all" else [args.target]
    failed = False
    for name in names:
        report = runs[name](args.examples)
        print(
            f"{name}: {report.inputs} inputs, {report.refused} refused with a user error, "
            f"{len(report.failures)} failures, {report.seconds:.1f} s"
        )
        kinds = Counter(f"{f.kind}: {f.message}" for f in report.failures)
        for kind, n in kinds.most_common(10):
            example = next(f.example for f in report.failures if f"{f.kind}: {f.message}" == kind)
            print(f"  {n}× {kind}\n     e.g. {example}")
        failed = failed or bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
