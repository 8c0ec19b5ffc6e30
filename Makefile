# The two commands a newcomer needs: `make run` and `make test`. Each creates/updates .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Empty: the WEB_PORT/WEB_HOST settings (instance/config.py), else 127.0.0.1:5000.
PORT ?=
HOST ?=

.PHONY: run dev prepare test test-pg bench lint venv venv-test venv-bench clean translations \
	translations-extract translations-update translations-compile

# Re-install only when pyproject.toml changed since the last install (idempotent and quick).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# The benches also compare with Django admin (bench/compare_bench.py): the `bench` extra.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-test $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test
venv-bench: $(VENV)/.installed-bench

# Production server (gunicorn, gunicorn.conf.py) with the scheduler beside it as its own
# process; Ctrl-C stops both. Settings: WEB_* in instance/config.py or the environment.
run: venv prepare
	@echo "  演示登录：clerk / demo12345（另有 supervisor、director、admin、engineer、finance、manager，密码相同）"
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) $(BIN)/python -m ops.server

# Flask's development server with auto-reload (and the scheduler) for people changing the code.
dev: venv prepare
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) $(BIN)/python -m ops.server --dev

prepare: venv
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo seed --if-empty

test: venv-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite against the local PostgreSQL server (database `test`).
test-pg: venv-test
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv-bench
	$(BIN)/python -m bench $(BENCH)

lint: venv-test
	$(BIN)/ruff check .

# Message catalogues (#12 item 2), translations/: our strings (Chinese source, English beside
# it), and what Flask-Admin's and WTForms' zh catalogues lack. The compiled .mo files are
# committed, so a checkout runs without a build step; tests/test_i18n.py fails when one is
# older than its .po or an English translation is missing. After changing strings:
#   make translations   (extract -> update the English catalogue -> compile), then fill in the
#   new msgstr lines of translations/en/LC_MESSAGES/messages.po and `make translations-compile`.
BABEL := $(BIN)/pybabel
translations: translations-extract translations-update translations-compile

translations-extract: venv
	$(BABEL) extract -F babel.cfg -k N_ -k L_ -k lazy_gettext -o translations/messages.pot --no-location \
		--sort-output --omit-header .

translations-update: venv
	$(BABEL) update -i translations/messages.pot -d translations -D messages -l en --no-fuzzy-matching --no-wrap

translations-compile: venv
	$(BABEL) compile -d translations -D messages -l en
	$(BABEL) compile -d translations -D admin -l zh_Hans_CN
	$(BABEL) compile -d translations -D wtforms -l zh_Hans_CN

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
