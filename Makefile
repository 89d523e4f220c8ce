# The two commands of the README: `make demo` and `make test`. Both set up .venv/ first
# when it is missing or older than requirements.txt, and reuse it when it is complete.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup demo test test-unit test-fast lint format plan bench faults screenshot config-doc

setup: $(READY)

$(READY): requirements.txt requirements-build.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	SAM2_BUILD_CUDA=0 $(BIN)/pip install --quiet --no-build-isolation -r requirements-build.txt
	touch $(READY)

demo: $(READY)
	$(BIN)/snakemake --cores 2 results/demo/summary.json results/demo/tune/index.html
	@cat results/demo/summary.json

test: $(READY) test-unit lint plan
	$(BIN)/snakemake --cores 2 --forceall results/demo/summary.json results/demo/tune/index.html

test-unit: $(READY)
	$(BIN)/pytest -q -rs tests

# The unit tests only (no Snakemake run, no browser, no SLURM): a few minutes on 2 cores.
test-fast: $(READY)
	$(BIN)/pytest -q -rs -m "not (workflow or browser or slurm)" tests

lint: $(READY)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/black --check --quiet .

# The one formatter for Python, and snakefmt for the rules (line length in pyproject.toml).
format: $(READY)
	$(BIN)/black --quiet .
	$(BIN)/snakefmt Snakefile workflow/rules

plan: $(READY)
	$(BIN)/snakemake -n --quiet rules
	# --sdm env-modules: the slurm profile uses conda, which Snakemake checks even when
	# planning, and this machine has none. Drop the flag where conda is installed.
	$(BIN)/snakemake -n --quiet rules --profile profiles/slurm --sdm env-modules

bench: $(READY)
	$(BIN)/python tools/bench_plan.py
	$(BIN)/python tools/bench_label.py
	$(BIN)/python tools/bench_tune.py
	$(BIN)/python tools/bench_scale.py

faults: $(READY)
	$(BIN)/python tools/faults.py

# docs/tune.png, the README's picture of the tuning page: taken by the browser test.
screenshot: $(READY)
	TUNE_SCREENSHOT=docs/tune.png $(BIN)/pytest -q -rs tests/test_tune_page.py -k screenshot

# config/README.md's key tables, from the schemas' descriptions (tests/test_config_doc.py).
config-doc: $(READY)
	$(BIN)/python tools/config_doc.py
