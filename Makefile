# Two commands matter (see README): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv

.PHONY: setup demo serve test lint bench clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(TOOLS)/bin/uv pyproject.toml uv.lock
	$(TOOLS)/bin/uv sync --frozen --python $(PYTHON)
	touch $@

# openapi-python-client (the generated-client test) pins a typer older than ours: its own venv,
# locked with hashes in tools/openapi-python-client.txt.
CLIENT_GEN := $(TOOLS)/client-gen
$(CLIENT_GEN)/.synced: $(TOOLS)/bin/uv tools/openapi-python-client.txt
	$(TOOLS)/bin/uv venv --quiet --allow-existing --python $(PYTHON) $(CLIENT_GEN)
	$(TOOLS)/bin/uv pip sync --quiet --python $(CLIENT_GEN)/bin/python tools/openapi-python-client.txt
	touch $@

setup: $(VENV)/.synced $(CLIENT_GEN)/.synced

demo: setup  ## Run the service on SQLite with demo data
	$(VENV)/bin/enroll demo

serve: setup
	$(VENV)/bin/enroll serve

# One test process per core (pytest-xdist); PYTEST_ARGS="-n 0" runs them in this process. Tests
# marked `alone` measure latency under load of their own making, so they run after the rest,
# by themselves (exit status 5: PYTEST_ARGS selected none of them).
test: lint  ## Lint, types, then the whole suite (PostgreSQL too when ENROLL_TEST_DATABASE_URL is set)
	$(VENV)/bin/pytest -n auto -m "not alone" --durations=30 $(PYTEST_ARGS)
	$(VENV)/bin/pytest -n 0 -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the layers and acyclic packages of docs/architecture.md

bench: setup
	$(VENV)/bin/python bench/api.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
