# ACORN — the two commands a newcomer needs: `make run` and `make test`.
# Only Python 3.11+ is required; everything else is installed into .venv.

# The first interpreter that actually runs and is 3.11+ (pyenv shims may exist but not run).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= acorn.settings.local

.PHONY: setup run test test-clock lint format migrate messages demo clean

# venv + install only; quick when nothing changed (the stamp is newer than pyproject.toml). The dev extra holds
# the test tools and graphql-core for the channel simulator (simulator/, not in the wheel), which `make run`
# starts and `make test` runs against.
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "ACORN needs Python 3.11 or newer on PATH (python3.11, python3.12 or python3)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# The embedded default's database cache table comes with the migrations (acorn/console/migrations).
migrate: setup
	$(PY) manage.py migrate --noinput

messages: setup
	$(PY) manage.py compile_translations

demo: migrate messages
	$(PY) manage.py demo

# The embedded product: SQLite + filesystem broker under var/, web + worker + beat via honcho.
run: demo
	@echo ""
	@echo "  ACORN console: http://$(HOST):$(PORT)/   (sign in with a demo login above)"
	@echo "  Emails are printed: account emails by the web process, notification emails by the worker."
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile.dev

# The whole suite. With DATABASE_URL / REDIS_URL set (as .ci/run does) it runs on PostgreSQL + Redis.
# The browser tests (tests/e2e, marked e2e: `make test PYTEST_ARGS="-m e2e"`) drive Debian's Chromium and are
# skipped, with this line, where it is not installed; their screenshots land in var/e2e/screenshots.
CHROMIUM_HINT := Browser tests (tests/e2e) skipped: no chromium. Install it: sudo apt-get install chromium fonts-noto-cjk
test: setup
	$(PY) manage.py compile_translations
	@command -v chromium >/dev/null 2>&1 || echo "$(CHROMIUM_HINT)"
	DJANGO_SETTINGS_MODULE=acorn.settings.test $(BIN)/pytest $(PYTEST_ARGS)

# The clock check: the date-sensitive tests again with the clock moved ahead (a year, then a month), ticking,
# so that a test which passes only in the month it was written fails today, not next month. The whole suite
# takes the same option: `make test PYTEST_ARGS=--clock-ahead=366`.
CLOCK_AHEAD_DAYS ?= 366 31
CLOCK_TESTS ?= tests/refunds tests/orders/test_shipments.py tests/orders/test_shipments_e2e.py \
	tests/channels/test_sync_engine.py tests/channels/test_views.py tests/tenancy/test_services.py \
	tests/test_fx.py tests/test_money.py tests/test_beat.py tests/test_embedded_install.py tests/test_clock.py \
	tests/finance tests/fx
# The demo's profit against its statements reads the simulator's own real-time clock: nothing to move ahead.
CLOCK_SKIP ?= --deselect tests/finance/test_profit_demo.py::test_demo_profit_fees_and_refunds_equal_the_settlement_lines
test-clock: setup
	$(PY) manage.py compile_translations
	for days in $(CLOCK_AHEAD_DAYS); do \
		DJANGO_SETTINGS_MODULE=acorn.settings.test $(BIN)/pytest --clock-ahead=$$days $(PYTEST_ARGS) $(CLOCK_TESTS) \
			$(CLOCK_SKIP) || exit 1; \
	done

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ $(VENV)
