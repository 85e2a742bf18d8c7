# Two commands on a fresh machine: `make run` sets everything up and opens the app,
# `make test` sets everything up and runs the checks CI runs.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
# Where there is no NVIDIA GPU, torch comes from PyTorch's CPU index: a bare `torch` from PyPI
# is a multi-GB CUDA build. A wheel that pip finds locally (find-links) is used as it is.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.genplay-installed
# two test processes, one per CI core (each test process keeps torch to one thread)
TEST_WORKERS ?= 2

.PHONY: run test setup clean-venv

run: $(STAMP)
	$(VENV)/bin/genplay

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "torch is already installed in $(VENV)"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
		$(PY) -m pip install --quiet "torch==$(TORCH_VERSION)"; \
	else \
		$(PY) -m pip install --quiet --retries 0 --timeout 15 "torch==$(TORCH_VERSION)" --index-url $(TORCH_CPU_INDEX) \
		|| $(PY) -m pip install --quiet "torch==$(TORCH_VERSION)"; \
	fi
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
