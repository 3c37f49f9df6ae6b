# Everything a fresh machine needs: `make demo` (the main job) and `make test` (the whole suite).
# Both create .venv on first use with the exact pins of requirements/dev.txt.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test docs lint bench clean

$(STAMP): pyproject.toml requirements/dev.txt scripts/setup.sh
	PYTHON=$(PYTHON) bash scripts/setup.sh
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/videoespresso demo --out demo_output

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/ruff check src tests benchmarks scripts
	HF_HUB_OFFLINE=1 NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -q -p no:cacheprovider

# The documentation site (mkdocs.yml): build/site/index.html; `$(VENV)/bin/mkdocs serve` to browse it live.
docs: $(STAMP)
	HF_HUB_OFFLINE=1 NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(STAMP)
	for script in benchmarks/*.py; do $(VENV)/bin/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info
