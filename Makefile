# The commands of the README. Each creates .venv and installs what it needs on first use.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
# Every dependency, exact and with its hashes, for Python 3.11 on Linux x86_64: what the tests
# ran is what every machine installs. requirements.lock has the test extra too (.venv, CI);
# requirements-runtime.lock, the same versions without it, is for the image.
# Regenerate both after changing a dependency in pyproject.toml: `make lock`
# (`make lock LOCK_ARGS=--upgrade` moves every package to its newest version).
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
UV := uv==0.13.8
LOCK_FLAGS := --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: demo test lint bench lock

demo: $(STAMP)
	$(VENV)/bin/streams demo

test: $(STAMP) lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r $(LOCK)
	$(VENV)/bin/pip install --quiet --no-deps -e .
	$(VENV)/bin/pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run make lock"; exit 1; }
	touch $@

# uv in a throwaway venv: it resolves for the target platform, whatever machine runs it.
lock:
	tool=$$(mktemp -d) && $(PYTHON) -m venv $$tool && $$tool/bin/pip install --quiet $(UV) \
	&& $$tool/bin/uv pip compile $(LOCK_FLAGS) --extra test -o $(LOCK) pyproject.toml \
	&& $$tool/bin/uv pip compile $(LOCK_FLAGS) -c $(LOCK) -o $(RUNTIME_LOCK) pyproject.toml; \
	status=$$?; rm -rf $$tool; exit $$status
