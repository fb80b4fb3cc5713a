# OpenCapacity. `make run` and `make test` set up whatever is missing first.
# Nothing here downloads at run time except packages from PyPI, Debian and npm.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KERNEL_VENV := .kernel-venv
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the platform needs: the sandbox (bubblewrap), browser tests (chromium),
# fonts that cover Arabic and Chinese, gettext for compiling translations, Pango for WeasyPrint's
# certificate PDFs, poppler-utils (pdftoppm) to turn those PDFs into the PNGs in docs/screenshots.
DEBIAN_PACKAGES := bubblewrap chromium fonts-noto-core fonts-noto-cjk gettext libpango-1.0-0 libpangoft2-1.0-0 \
  poppler-utils

.PHONY: run test test-fast lint format typecheck bench messages system-deps setup demo clean help editor

help:
	@echo "make run      set up, load the demo content and accounts, serve http://$(HOST):$(PORT) with a worker"
	@echo "make test     set up and run the whole test suite"
	@echo "make lint     ruff and mypy;  make format  ruff format"
	@echo "make bench    the benchmarks in bench/, figures recorded in docs/performance.md"
	@echo "make editor   build the exercise code editor (npm ci + esbuild into lms/static/editor/)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The kernels' own runtime, separate from the web app's dependencies (see docs/sandbox.md).
$(KERNEL_VENV)/.installed: sandbox/requirements-kernel.txt
	test -x $(KERNEL_VENV)/bin/python || $(PYTHON) -m venv $(KERNEL_VENV)
	$(KERNEL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KERNEL_VENV)/bin/python -m pip install --quiet -r sandbox/requirements-kernel.txt
	touch $@

system-deps:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing"; \
	    echo "Install them with:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

setup: system-deps $(VENV)/.installed $(KERNEL_VENV)/.installed messages editor

# The exercise code editor (CodeMirror 6), pinned in package-lock.json and bundled by esbuild into
# lms/static/editor/; neither node_modules nor the bundle is committed.
EDITOR_BUNDLE := lms/static/editor/editor.js
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(EDITOR_BUNDLE): node_modules/.installed lms/static_src/editor.js
	npm run --silent build

editor: $(EDITOR_BUNDLE)

messages: $(VENV)/.installed
	@$(PY) manage.py compilemessages --ignore '.venv*' --ignore '.kernel-venv*' -v0

demo: setup
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py collectstatic --no-input -v0
	$(PY) manage.py load_content
	$(PY) manage.py create_demo_accounts

run: demo
	@echo "Serving http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	$(VENV)/bin/celery -A lms worker --beat --schedule var/celerybeat-schedule -Q default,grading \
	  --loglevel=WARNING --concurrency=2 & \
	$(VENV)/bin/gunicorn lms.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile - & \
	wait

# Two test processes by default (tests/settings.py gives each its own database, broker, cache and
# var/); files stay whole on one process, so module-scoped fixtures are built once.
# TEST_PROCESSES=0 runs everything in this process.
TEST_PROCESSES ?= 2

test: setup
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run -v0
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) bench/pages.py

clean:
	rm -rf var/static var/cache
