# The two commands of the README: `make demo` (set up + run the main job) and `make test`
# (set up + run the tests). Both create .venv and install on their own the first time.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export DO_NOT_TRACK := 1

.PHONY: install demo test lint serve bench postgres clean

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV) (first run only; log in $(VENV)/install.log)..."
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(VENV)/bin/python -m pip install -e ".[test]" >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/phonesys demo

# PostgreSQL tests run when a server is reachable (as root, `make postgres` starts the local one);
# otherwise they are skipped with the reason. CI sets PHONESYS_REQUIRE_POSTGRES=1 to forbid skipping.
test: $(STAMP)
	@if [ "$$(id -u)" = 0 ] && command -v pg_lsclusters > /dev/null; then bash .ci/postgres.sh > /dev/null || true; fi
	$(VENV)/bin/pytest

# ruff, mypy and the import-direction contract (the same checks the test suite runs)
lint: $(STAMP)
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_code_checks.py

postgres:
	@bash .ci/postgres.sh

# A local Prefect server (UI at http://127.0.0.1:$(PREFECT_PORT), data in $$PHONESYS_HOME/prefect),
# `phonesys serve` serving every deployment of prefect.yaml against it (runs heartbeat every 30 s; a
# run killed outright is marked Crashed 90 s after its last heartbeat) and `phonesys web` (the HTTP
# API at http://127.0.0.1:$(WEB_PORT)/api/v1, docs at /docs); Ctrl-C stops all three.
PREFECT_PORT ?= 4200
WEB_PORT ?= 8080
serve: $(STAMP)
	@$(VENV)/bin/python -m phonesys.ops.localserver --port $(PREFECT_PORT) --web-port $(WEB_PORT)

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/import_users.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
