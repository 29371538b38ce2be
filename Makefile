# coursehub: `make demo` brings up a demo hub, `make test` runs what CI runs.
SHELL := /bin/bash
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: help setup demo demo-down demo-test test lint unit molecule clean check-courses

help:
	@echo "make demo   - demo hub in a local container at https://127.0.0.1:8443"
	@echo "make test   - lint, unit tests and molecule (what CI runs)"
	@echo "make clean  - remove the demo container, molecule instances and caches"
	@echo "make check-courses - what CI checks on a course pull request: validate, plan, yamllint"

# Debian packages, Docker engine, virtualenv and base image; each step skips itself when done.
setup:
	@bash scripts/bootstrap-host.sh

demo: setup
	@bash scripts/demo.sh

# Logs in on the running demo through its login form.
demo-test: setup
	python -m pytest tests/demo -q -p no:cacheprovider

demo-down:
	-docker rm -f coursehub-demo

lint: setup
	yamllint -s .
	ansible-lint --profile production

unit: setup
	python -m pytest tests/unit -q

# What CI runs on a pull request that touches course files. It needs only the
# virtualenv (PATH above puts $(VENV)/bin first, so coursectl's python3 is the
# venv's), not setup's Docker engine and base image.
check-courses:
	@test -x $(VENV)/bin/python || { echo "no $(VENV): run make setup (or python3 -m venv $(VENV) && $(VENV)/bin/pip install -r requirements-dev.txt)" >&2; exit 1; }
	bin/coursectl validate
	bin/coursectl plan
	yamllint -s group_vars/courses

molecule: setup
	molecule test --all

# The demo is brought up and logged into as well, since the README promises it.
# pytest prints the last line: the unit tests come last.
test: setup lint molecule demo demo-test unit

clean: demo-down
	-molecule destroy --all
	rm -rf .cache .demo .pytest_cache
