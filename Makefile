# The README's two commands:
#   make report   set up .venv and write the AImoclips analysis report (emoconvey-report/)
#   make test     set up .venv with test extras and system packages, lint, run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= emoconvey-report
DEV_EXTRAS ?= survey,postgres,test,generate,ray,predict,text

.PHONY: report test install install-dev system-deps lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# torch==2.13.0 first: the CPU build that lies on these machines' disk (see README); the
# extras' looser torch requirements are then already met and pull nothing more.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[$(DEV_EXTRAS)]"
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-dev: $(VENV)/.installed-dev

report: $(VENV)/.installed-base
	$(BIN)/emoconvey report --out $(OUT)

system-deps:
	bash scripts/system-deps.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts

test: $(VENV)/.installed-dev system-deps lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
