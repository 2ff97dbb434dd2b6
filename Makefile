# Quick start: `make run` serves the backoffice with demo data; `make test` runs every suite
# (the fuzz suite with a small budget); `make fuzz` runs the fuzz suite deep.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: run test lint fuzz venv migrate seed translations clean vendor-echarts vendor-signature-pad bench bench-growth

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(PY) -m flask --app app db upgrade

seed: migrate
	$(PY) -m flask --app app seed-demo

# The web server and, beside it, the task queue's worker (periodic jobs, the outbox; issue 17) on
# the embedded SQLite queue: Ctrl+C stops both.
run: seed
	@echo "Serving on http://$(HOST):$(PORT) with a task worker  (Ctrl+C to stop both)"
	@export PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}; \
	$(PY) -m flask --app app worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m flask --app app run --host $(HOST) --port $(PORT)

# Ruff (ruff.toml) and the layer contracts (.importlinter: views → backoffice → models).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: venv lint
	$(PY) -m pytest

# Deeper than `make test`: FUZZ_EXAMPLES examples per generated test, a fresh random seed each run
# (with shrinking to a minimal failing input), and every hostile URL for every role that reaches it.
FUZZ_EXAMPLES ?= 500
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 FUZZ_WALK=all $(PY) -m pytest -m fuzz tests/fuzz

# Issue 16: our pages against stock Flask-Admin and a lean keyset page under gunicorn (bench/README.md).
# `make bench DATABASE_URL=postgresql+psycopg://... [LABEL=1M]` measures that database as it is;
# `make bench-growth` rebuilds bench_10000, bench_100000, bench_1000000 on BENCH_PG and measures each.
# Both rewrite bench/RESULTS.md (one section per label, and the growth table).
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
bench: venv
	@test -n "$(DATABASE_URL)" || { echo "make bench needs DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench)"; exit 2; }
	$(PY) bench/bench.py --database-url "$(DATABASE_URL)" $(if $(LABEL),--label "$(LABEL)") $(BENCH_ARGS)

bench-growth: venv
	PY=$(PY) BENCH_PG="$(BENCH_PG)" BENCH_ARGS="$(BENCH_ARGS)" sh bench/growth.sh

translations: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o backoffice/translations/messages.pot .
	$(VENV)/bin/pybabel update -i backoffice/translations/messages.pot -d backoffice/translations --no-fuzzy-matching
	$(VENV)/bin/pybabel compile -d backoffice/translations

# The chart library is vendored (pages work offline, no CDN): refetch it from the npm registry.
ECHARTS_VERSION ?= 6.1.0
vendor-echarts:
	rm -rf /tmp/echarts-pack && mkdir -p /tmp/echarts-pack
	cd /tmp/echarts-pack && npm pack --silent echarts@$(ECHARTS_VERSION) && tar xzf echarts-$(ECHARTS_VERSION).tgz
	cp /tmp/echarts-pack/package/dist/echarts.common.min.js /tmp/echarts-pack/package/LICENSE \
	   /tmp/echarts-pack/package/NOTICE /tmp/echarts-pack/package/licenses/LICENSE-d3 static/vendor/echarts/

# The signature pad the customer signs on (issue 18), vendored the same way: the UMD build
# (window.SignaturePad) without its source-map comment.
SIGNATURE_PAD_VERSION ?= 5.1.4
vendor-signature-pad:
	rm -rf /tmp/signature-pad-pack && mkdir -p /tmp/signature-pad-pack static/vendor/signature_pad
	cd /tmp/signature-pad-pack && npm pack --silent signature_pad@$(SIGNATURE_PAD_VERSION) && tar xzf signature_pad-$(SIGNATURE_PAD_VERSION).tgz
	grep -v '^//# sourceMappingURL' /tmp/signature-pad-pack/package/dist/signature_pad.umd.min.js \
	   > static/vendor/signature_pad/signature_pad.umd.min.js
	cp /tmp/signature-pad-pack/package/LICENSE static/vendor/signature_pad/
	echo $(SIGNATURE_PAD_VERSION) > static/vendor/signature_pad/VERSION

clean:
	rm -rf $(VENV) .pytest_cache
