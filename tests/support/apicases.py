"""The schemathesis run's request counter (tests/web/api), read back by its conftest to
print the figure after the run. A module of its own so both see one object."""

from __future__ import annotations

from collections import Counter

# label ("stateless admin", "stateful anonymous", …) → requests made
CASES: Counter[str] = Counter()
# "stateful admin: GET /api/v1/subscribers/{subscriber_id} 200" → requests made
STEPS: Counter[str] = Counter()
