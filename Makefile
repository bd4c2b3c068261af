# Developer and CI entry points. GNU make.
#   make test        system packages + venv, then the whole pytest suite (PYTEST_ARGS=... passes options)
#   make venv        .venv with the project installed editable, extras [test] (pulls [pulumi,kubernetes])
#   make system-deps Debian packages for the real-server tests (root: installs; otherwise: tells)
#   make demo        the examples/quickstart stack (pulumi CLI when present, else our CLI on SQLite)

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

DEMO_DIR := examples/quickstart
DEMO_DB := $(CURDIR)/.demo/quickstart.db
DEMO_ARGS := --dir $(DEMO_DIR)/migrations --url sqlite://$(DEMO_DB)

.PHONY: test venv system-deps demo clean

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -q -e '.[test]'
	@touch $@

system-deps:
	@bash scripts/setup-system.sh

test: system-deps venv
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

demo: venv
	@if command -v pulumi >/dev/null 2>&1; then \
		mkdir -p $(CURDIR)/.pulumi-state $(dir $(DEMO_DB)) && \
		cd $(DEMO_DIR) && \
		export PATH=$(CURDIR)/$(VENV)/bin:$$PATH PULUMI_BACKEND_URL=file://$(CURDIR)/.pulumi-state PULUMI_CONFIG_PASSPHRASE= && \
		pulumi stack select --create dev && \
		pulumi config set database_url sqlite://$(DEMO_DB) && \
		pulumi up --yes; \
	else \
		echo "pulumi CLI not found: applying $(DEMO_DIR)/migrations with the pulumi-migrations CLI instead" && \
		mkdir -p $(dir $(DEMO_DB)) && \
		$(VENV)/bin/pulumi-migrations apply $(DEMO_ARGS) && \
		$(VENV)/bin/pulumi-migrations status $(DEMO_ARGS); \
	fi

clean:
	rm -rf .demo .pulumi-state .pytest_cache
