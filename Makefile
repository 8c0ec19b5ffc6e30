# The two commands a newcomer needs: `make run` and `make test`. Each creates/updates .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1

.PHONY: run test test-pg bench lint venv venv-test clean

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

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

run: venv
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo seed --if-empty
	@echo ""
	@echo "  客服中心已启动：http://$(HOST):$(PORT)/"
	@echo "  演示登录：clerk / demo12345（另有 supervisor、director、admin、engineer、finance、manager，密码相同）"
	@echo "  定时任务（超时标记、每日摘要）在后台运行，日志见 instance/jobs.log；停止服务器时一并停止。"
	@echo ""
	@# One scheduler beside the dev server (leases keep a second `jobs run` from doubling a
	@# slot); it ignores Ctrl-C as a background job, so the trap stops it with SIGTERM.
	@mkdir -p instance; $(BIN)/flask --app app jobs run >> instance/jobs.log 2>&1 & jobs_pid=$$!; \
	trap 'kill $$jobs_pid 2>/dev/null; wait $$jobs_pid 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: venv-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite against the local PostgreSQL server (database `test`).
test-pg: venv-test
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv-test
	$(BIN)/python -m bench $(BENCH)

lint: venv-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
