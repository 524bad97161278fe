#!/usr/bin/env bash
# Run the suite as four pytest processes at once, one per group of test folders, and fail if
# any group fails (pytest's exit 5, "no tests", counts as a failure too).
#
# Why: most of the suite waits on real parts (a Celery worker, SMTP, Chromium, PostgreSQL),
# not on the CPU; run one after another the groups take ~17 minutes, side by side ~7. The
# tests already isolate themselves per process: throwaway databases named by pid, Redis DBs
# claimed with a lock key, servers on free ports.
set -u
cd "$(dirname "$0")/.."
PYTEST=".venv/bin/pytest"
logs="$(mktemp -d)"
groups=(
  "tests/delivery"
  "tests/web"
  "tests/subscribers tests/scheduling tests/content tests/render tests/mail tests/users tests/demo"
  "tests/browser tests/core tests/cli tests/inbound tests/ops tests/test_architecture.py"
)
# Every test folder must be in a group, so none is silently left out.
for dir in tests/*/; do
  dir="${dir%/}"
  [[ "$dir" == tests/support || "$dir" == tests/__pycache__ ]] && continue
  [[ " ${groups[*]} " == *" $dir "* ]] || { echo "test-groups: $dir is in no group" >&2; exit 2; }
done
pids=()
for i in "${!groups[@]}"; do
  # shellcheck disable=SC2086  # a group is a list of paths
  $PYTEST -q ${groups[$i]} "$@" >"$logs/$i.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!groups[@]}"; do
  wait "${pids[$i]}"; rc=$?
  echo "=== ${groups[$i]} (exit $rc)"
  if [[ $rc -ne 0 ]]; then cat "$logs/$i.log"; status=1; else tail -n 3 "$logs/$i.log"; fi
done
rm -rf "$logs"
exit $status
