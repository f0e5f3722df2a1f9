# Guichet CLACT — every command installs what it needs first, and can be run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgres://root@127.0.0.1:5432/guichet


.PHONY: install system-packages system-packages-demo demo serve test test-sqlite test-postgres test-oidc-provider lint bench bench-reporting clean mutation

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Debian packages (apt-get, as root, only those missing): see scripts/system-packages and the README.
system-packages-demo:
	scripts/system-packages demo

system-packages:
	scripts/system-packages test

# The task worker (e-mails, antivirus scans: TASKS_BACKEND=database) runs beside the server and stops with it.
demo: install system-packages-demo
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo
	DJANGO_DEBUG=1 $(PY) manage.py db_worker --queue-name '*' & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

lint: install
	$(VENV)/bin/ruff check .

# The whole suite, on SQLite then on PostgreSQL (DATABASE_URL for the second run: PG_TEST_URL).
test: install system-packages lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: install system-packages test-oidc-provider
	env -u DATABASE_URL $(VENV)/bin/pytest -q

test-postgres: install system-packages test-oidc-provider
	DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -q

# The OpenID Connect provider the ProConnect tests run on loopback (panva's oidc-provider, Node.js), at the
# versions of tests/oidc_provider/package-lock.json, into tests/oidc_provider/node_modules (gitignored).
OIDC_STAMP := tests/oidc_provider/node_modules/.installed

$(OIDC_STAMP): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

test-oidc-provider: system-packages $(OIDC_STAMP)

# Mutation testing of the money, dates and permission modules (slow: not part of make test): the score per module,
# then every surviving mutant; docs/testing.md explains them. One module: make mutation MODULES=guichet/x/y.py
# (several: space-separated); only the last run's survivors again: make mutation MUTATION_ARGS=--survivors
MODULES ?=
MUTATION_ARGS ?=
MUTATION_STAMP := $(VENV)/.installed-mutation

$(MUTATION_STAMP): $(STAMP) requirements-mutation.txt
	$(PIP) install --quiet -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	nice -n 10 $(PY) scripts/mutation.py $(MUTATION_ARGS) $(MODULES)

bench: install
	$(PY) benchmarks/run.py
	$(PY) benchmarks/files.py
	$(PY) benchmarks/workspace.py
	$(PY) benchmarks/commission.py --database postgres
	$(PY) benchmarks/commission.py --database sqlite
	$(PY) benchmarks/payments.py --database postgres
	$(PY) benchmarks/payments.py --database sqlite
	$(PY) benchmarks/hashing.py
	$(PY) benchmarks/rush.py

# Exports of 100 000 dossiers and the statistics pages (issue 13): slow (data generation and two exports of
# 100 000 rows per database). Size and databases: make bench-reporting REPORTING_ARGS="--dossiers 20000 --database both"
REPORTING_ARGS ?= --database sqlite

bench-reporting: install
	$(PY) benchmarks/reporting.py $(REPORTING_ARGS)

clean:
	rm -rf $(VENV) var
