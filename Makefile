# Kontaktpunkt: `make run` serves the demo, `make test` runs the suite. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
MANAGE := cd backend && ../$(PY) manage.py

.PHONY: run test lint format bench deploy-check lock clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.base-installed: requirements/base.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements/base.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements/dev.lock
	touch $@ $(VENV)/.base-installed

# Without a broker there is no beat process either: the server runs the beat schedule itself.
IN_PROCESS_BEAT ?= $(if $(REDIS_URL),false,true)

run: $(VENV)/.base-installed
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --if-demo
	cd backend && PORT=$(PORT) IN_PROCESS_BEAT=$(IN_PROCESS_BEAT) \
		../$(PY) -m config.serve -b 127.0.0.1 -p $(PORT) config.asgi:application

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check backend tests benchmarks
	$(PY) -m ruff format --check backend tests benchmarks
	$(PY) -m mypy backend

format: $(VENV)/.dev-installed
	$(PY) -m ruff format backend tests benchmarks
	$(PY) -m ruff check --fix backend tests benchmarks

# The deploy files against the Kubernetes API schema and Compose's own parser (the Debian
# docker-compose package is enough: `config` needs no Docker engine).
deploy-check: $(VENV)/.dev-installed
	$(VENV)/bin/kubernetes-validate --strict --quiet $(filter-out deploy/k8s/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))
	cd deploy && KONTAKTPUNKT_ENV_FILE=env.example POSTGRES_PASSWORD=check docker-compose config --quiet
	cd deploy && KONTAKTPUNKT_ENV_FILE=env.example POSTGRES_PASSWORD=check docker-compose --profile metrics config --quiet

bench: $(VENV)/.dev-installed
	$(PY) -m benchmarks.run

# Re-pin after changing pyproject.toml dependencies.
lock: $(VENV)/.dev-installed
	$(PY) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements/base.lock pyproject.toml
	$(PY) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev --output-file requirements/dev.lock pyproject.toml

clean:
	rm -rf $(VENV) var staticfiles
