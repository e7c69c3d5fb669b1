# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs the project into it on first use (or when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint schema fuzz clean graphiql-assets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/starling serve

test: $(STAMP) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# A longer schemathesis campaign than the bounded one in `make test`.
fuzz: $(STAMP)
	STARLING_FUZZ_EXAMPLES=$${STARLING_FUZZ_EXAMPLES:-300} $(BIN)/pytest -s tests/e2e/fuzz

schema: $(STAMP)
	$(BIN)/starling export-schema > schema.graphql

# Refresh the vendored GraphiQL (server/edge/graphiql) from npm, at the versions it names.
graphiql-assets:
	rm -rf $(VENV)/graphiql-npm && mkdir -p $(VENV)/graphiql-npm
	cd $(VENV)/graphiql-npm && echo '{"private":true}' > package.json && \
	  npm install --no-audit --no-fund graphiql@3.9.0 react@18.3.1 react-dom@18.3.1
	cp $(VENV)/graphiql-npm/node_modules/graphiql/graphiql.min.js \
	   $(VENV)/graphiql-npm/node_modules/graphiql/graphiql.min.css \
	   $(VENV)/graphiql-npm/node_modules/react/umd/react.production.min.js \
	   $(VENV)/graphiql-npm/node_modules/react-dom/umd/react-dom.production.min.js \
	   server/edge/graphiql/

clean:
	rm -rf $(VENV) var .pytest_cache
