# DeepPhoto: `make demo` and `make test` do all set-up on a fresh machine (Python >= 3.11).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SRC    := deepphoto tests scripts
ALL_EXTRAS := torch,export,vcam,peers,bench,web,cluster,dev
EXTRAS ?= $(ALL_EXTRAS)
# 'make demo' needs the core install alone (ONNX Runtime, PyAV, OpenCV: no PyTorch, which PyPI serves
# on x86-64 Linux as its CUDA build, gigabytes): it sets up with these extras (none), 'make test' with all
DEMO_EXTRAS ?=
comma  := ,
STAMP  := $(VENV)/.installed-$(or $(subst $(comma),-,$(EXTRAS)),core)
# a set-up with every extra (make test's) serves one with fewer (make demo's): installing again needed the
# network ('pip install --upgrade pip', the build's setuptools), so 'make demo' after 'make test' failed offline
FULL_STAMP := $(VENV)/.installed-$(subst $(comma),-,$(ALL_EXTRAS))
SERVED_BY := $(if $(filter-out $(subst $(comma), ,$(ALL_EXTRAS)),$(subst $(comma), ,$(EXTRAS))),,$(filter-out $(STAMP),$(FULL_STAMP)))

CORE   := .venv-core
CORE_STAMP := $(CORE)/.installed

.PHONY: setup demo test test-core bench lint format clean

# The environment is checked on each run (it is remade when it cannot serve: see scripts/make_venv.sh),
# then installed into when pyproject.toml or constraints.txt changed since (a new make reads the stamp).
GIVEN  := $(if $(filter file,$(origin PYTHON)),,given)

setup:
	@bash scripts/make_venv.sh "$(PYTHON)" $(VENV) $(GIVEN)
	@$(MAKE) -q $(STAMP) 2>/dev/null || $(if $(SERVED_BY),$(MAKE) -q $(SERVED_BY) 2>/dev/null ||) $(MAKE) --no-print-directory $(STAMP)

# one rule for every stamp (.installed-core, .installed-torch-export-...), so that any can be asked about
$(VENV)/.installed-%: pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing DeepPhoto and its pinned packages$(if $(findstring torch,$*), (PyTorch alone is gigabytes: minutes the first time))"
	$(BIN)/python -m pip install -c constraints.txt -e "$(if $(filter-out core,$*),.[$(subst -,$(comma),$*)],.)"
	$(BIN)/deepphoto assets
	touch $@

demo:
	@$(MAKE) --no-print-directory setup EXTRAS="$(DEMO_EXTRAS)"
	$(BIN)/deepphoto demo

test: setup test-core
	$(BIN)/python -m pytest -q

# The core install (no extras: no PyTorch) runs run, edit, styles and build-engine.
$(CORE_STAMP): pyproject.toml constraints.txt
	$(CORE)/bin/python -m pip install --quiet --upgrade pip
	$(CORE)/bin/python -m pip install -c constraints.txt .
	touch $@

test-core: setup
	@bash scripts/make_venv.sh "$(PYTHON)" $(CORE) $(GIVEN)
	@$(MAKE) -q $(CORE_STAMP) 2>/dev/null || $(MAKE) --no-print-directory $(CORE_STAMP)
	$(CORE)/bin/python -m pip install --quiet --no-deps --force-reinstall -c constraints.txt .
	bash scripts/test_core_install.sh $(CORE)

bench: setup   # the committed report: docs/benchmark/ (about 5 minutes on 2 cores)
	$(BIN)/deepphoto bench --out docs/benchmark

lint: setup
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

format: setup
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

clean:
	rm -rf $(VENV) $(CORE) build *.egg-info .pytest_cache .ruff_cache
