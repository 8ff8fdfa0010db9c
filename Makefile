# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment they need (idempotently) on a machine with only Python 3.11+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO := demo-output

.PHONY: demo test test-deps lint typecheck unit bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/python -m passerelle.demo $(DEMO)/slack-export.zip
	$(BIN)/passerelle ingest $(DEMO)/slack-export.zip -o $(DEMO)/archive
	$(BIN)/passerelle verify $(DEMO)/archive --against $(DEMO)/slack-export.zip
	$(BIN)/passerelle info $(DEMO)/archive
	$(BIN)/passerelle pack $(DEMO)/archive -o $(DEMO)/package
	$(BIN)/passerelle export $(DEMO)/archive --to html -o $(DEMO)/site
	$(BIN)/passerelle verify $(DEMO)/archive --against $(DEMO)/site
	@echo
	@echo "Demo export:   $(DEMO)/slack-export.zip"
	@echo "Archive:       $(DEMO)/archive  (SQLite: $(DEMO)/archive/archive.sqlite, file bytes: $(DEMO)/archive/blobs)"
	@echo "Open package:  $(DEMO)/package  (BagIt + Activity Streams 2.0; start with $(DEMO)/package/README.html)"
	@echo "Static site:   $(DEMO)/site/index.html  (the public channels, searchable, no server needed)"
	@echo "Web archive:   $(BIN)/passerelle users link $(DEMO)/archive <person>, then $(BIN)/passerelle serve $(DEMO)/archive"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# A real MediaWiki (Debian's mediawiki and php-sqlite3) for the MediaWiki writer's import tests;
# Debian's chromium for the web archive's browser tests (Playwright drives /usr/bin/chromium).
test-deps:
	sh scripts/install-test-deps.sh

unit: $(STAMP) test-deps
	$(BIN)/python -m pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]' || echo "slack-export-viewer did not install; benchmark runs without it"
	$(BIN)/python benchmarks/bench_slack_ingest.py
	$(BIN)/python benchmarks/bench_export.py
	$(BIN)/python benchmarks/bench_pack.py
	$(BIN)/python benchmarks/bench_mediawiki.py
	$(BIN)/python benchmarks/bench_mediawiki_export.py
	$(BIN)/python benchmarks/bench_markup.py
	$(BIN)/python benchmarks/bench_wiki_history_verify.py
	$(BIN)/python benchmarks/bench_web.py
	$(BIN)/python benchmarks/bench_html_export.py

docs: $(STAMP)
	$(BIN)/python -m passerelle.reference_docs

clean:
	rm -rf $(VENV) $(DEMO) .mypy_cache .ruff_cache .pytest_cache
