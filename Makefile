# The two commands of the README: `make demo` and `make test`. Both set up .venv/ first
# when it is missing or older than requirements.txt, and reuse it when it is complete.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# SAM 3 (transformers 5) beside groundingdino-py (transformers < 5): .venv-sam3/ holds only
# requirements-sam3.txt and sees .venv/'s packages behind them (one torch install).
SAM3_VENV := .venv-sam3
SAM3_READY := $(SAM3_VENV)/.ready
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup demo test test-unit test-fast lint format plan bench faults screenshot config-doc \
	gpu-check

setup: $(READY) $(SAM3_READY)

$(READY): requirements.txt requirements-build.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	SAM2_BUILD_CUDA=0 $(BIN)/pip install --quiet --no-build-isolation -r requirements-build.txt
	touch $(READY)

# The .pth line adds .venv/'s site-packages (asked of .venv/'s python, not hard-coded) after
# .venv-sam3/'s own, so pip there installs only what differs and shadows .venv/'s copy.
$(SAM3_READY): requirements-sam3.txt $(READY)
	rm -rf $(SAM3_VENV)
	$(BIN)/python -m venv $(SAM3_VENV)
	$(BIN)/python -c "import sysconfig; print('import site; site.addsitedir(%r)' \
		% sysconfig.get_paths()['purelib'])" > "$$($(SAM3_VENV)/bin/python -c \
		"import sysconfig; print(sysconfig.get_paths()['purelib'])")/synthdet_base_venv.pth"
	$(SAM3_VENV)/bin/pip install --quiet -r requirements-sam3.txt
	touch $(SAM3_READY)

demo: $(READY)
	$(BIN)/snakemake --cores 2 results/demo/summary.json results/demo/tune/index.html
	@cat results/demo/summary.json

test: $(READY) $(SAM3_READY) test-unit lint plan
	$(BIN)/snakemake --cores 2 --forceall results/demo/summary.json results/demo/tune/index.html

test-unit: $(READY) $(SAM3_READY)
	$(BIN)/pytest -q -rs tests

# The unit tests only (no Snakemake run, no browser, no SLURM): a few minutes on 2 cores.
test-fast: $(READY) $(SAM3_READY)
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
	$(BIN)/python tools/bench_critic.py
	$(BIN)/python tools/bench_scale.py

faults: $(READY)
	$(BIN)/python tools/faults.py

# On a CUDA machine only (fails without one; not part of `make test`): the demo's labeling
# on CUDA and on the CPU, compared, with images/s and GPU memory peak (docs/models.md).
gpu-check: $(READY)
	$(BIN)/python tools/gpu_check.py

# docs/tune.png, the README's picture of the tuning page: taken by the browser test.
screenshot: $(READY)
	TUNE_SCREENSHOT=docs/tune.png $(BIN)/pytest -q -rs tests/test_tune_page.py -k screenshot

# config/README.md's key tables, from the schemas' descriptions (tests/test_config_doc.py).
config-doc: $(READY)
	$(BIN)/python tools/config_doc.py
