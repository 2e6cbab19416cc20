# The two commands: `make run` and `make test`. Each bootstraps everything it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test bootstrap lint messages db-stop backup bench clean

run: bootstrap
	$(MANAGE) seed_demo
	$(MANAGE) runserver 127.0.0.1:8000

test: bootstrap lint $(CHROMIUM)
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest

# Static files are collected for the production storage (hashed names and a manifest) whatever
# DEBUG is now, so a DEBUG=0 start serves them as they are. Collecting signs nothing: any key does.
bootstrap: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	DEBUG=0 SECRET_KEY=collectstatic-signs-nothing $(MANAGE) collectstatic --noinput --verbosity 0

# The browser tests (tests/e2e) drive Debian's Chromium: installed when it is missing,
# as root or through sudo.
CHROMIUM := /usr/bin/chromium
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests..."
	$(AS_ROOT) apt-get update -qq
	$(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

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

# The Ukrainian catalogue: collect every marked string of the code and templates into
# locale/uk/LC_MESSAGES/django.po (new ones untranslated, gone ones dropped), then compile
# django.mo, which is committed with it. Needs GNU gettext (msgfmt, xgettext).
# tests/camp/test_translations.py fails while a string is missing or untranslated.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=docs \
	--ignore='*.egg-info'
messages: $(VENV)/.installed
	$(MANAGE) makemessages --locale=uk --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	$(MANAGE) compilemessages --locale=uk $(MESSAGES_IGNORE)

db-stop: $(VENV)/.installed
	$(BIN)/python -m camp.embedded_db stop

# pg_dump of the database in use into var/backups/; restore with `manage.py restore` (README).
backup: $(VENV)/.installed
	$(MANAGE) backup

bench: bootstrap
	$(BIN)/python bench/prisoner_search.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/exports.py

clean: db-stop
	rm -rf $(VENV) var *.egg-info
