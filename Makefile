# The two commands: `make run` and `make test`. Each bootstraps everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test bootstrap lint db-stop bench clean

run: bootstrap
	$(MANAGE) seed_demo
	$(MANAGE) runserver 127.0.0.1:8000

test: bootstrap lint
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest

# Static files are collected for the production storage (hashed names and a manifest) whatever
# DEBUG is now, so a DEBUG=0 start serves them as they are. Collecting signs nothing: any key does.
bootstrap: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	DEBUG=0 SECRET_KEY=collectstatic-signs-nothing $(MANAGE) collectstatic --noinput --verbosity 0

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

db-stop: $(VENV)/.installed
	$(BIN)/python -m camp.embedded_db stop

bench: bootstrap
	$(BIN)/python bench/prisoner_search.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/exports.py

clean: db-stop
	rm -rf $(VENV) var *.egg-info
