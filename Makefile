# The two commands of the README: `make train` and `make test`. Each creates .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: train test lint format tensorboard clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,sweeps,notebooks]'
	@touch $(STAMP)

## Train the default model (the article's autoencoder on Fashion-MNIST); extra overrides via ARGS="..."
train: $(STAMP)
	$(PY) -m aegan.train $(ARGS)

## Run the test suite on the CPU, one worker per logical CPU (at most 8)
test: $(STAMP)
	$(PY) -m pytest -q -n logical --maxprocesses=8 $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts notebooks
	$(VENV)/bin/ruff format --check src tests scripts notebooks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests scripts notebooks
	$(VENV)/bin/ruff format src tests scripts notebooks

## Serve every run under logs/ on http://127.0.0.1:6006
tensorboard: $(STAMP)
	$(VENV)/bin/tensorboard --logdir logs --host 127.0.0.1 --port 6006

clean-venv:
	rm -rf $(VENV)
