# Two entry points: `make demo` runs the product's main job, `make test` the whole suite.
# Both create .venv from scratch on a fresh machine and are idempotent.

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: demo test lint services browser spamassassin bench-deliver chaos clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/newsletter demo

services:
	@scripts/ensure-services.sh

browser:
	@scripts/ensure-browser.sh

spamassassin:
	@scripts/ensure-spamassassin.sh

test: $(STAMP) services browser spamassassin
	$(VENV)/bin/ruff check newsletter tests bench worker.py
	scripts/test-groups.sh

# The chaos bench: faults injected into real processes; prints lost, duplicates, recovery.
# CHAOS_ARGS, e.g. `make chaos CHAOS_ARGS="--rounds 20 --subscribers 10000 --faults kill9"`.
chaos: $(STAMP)
	@scripts/ensure-smtp-sink.sh
	$(PY) bench/chaos.py $(CHAOS_ARGS)

# The delivery bench: unsigned, RSA-, Ed25519- and dual-signed throughput and the raw
# smtplib ceiling against Postfix's smtp-sink, e.g. `make bench-deliver BENCH_ARGS="--n 20000"`.
bench-deliver: $(STAMP) services
	@scripts/ensure-smtp-sink.sh
	$(PY) bench/deliver.py $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check newsletter tests bench worker.py
	$(VENV)/bin/ruff format --check newsletter tests bench worker.py

clean:
	rm -rf $(VENV) var .pytest_cache
