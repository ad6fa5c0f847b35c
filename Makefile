# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format install migrate static worker worker-all beat flower web up down bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,claude]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

## The admin's CSS/JS into var/static (hashed, gzipped); whitenoise serves them from there.
static: $(STAMP)
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

## Run a sample alert through the default pipeline in-process on SQLite; prints each node.
demo: migrate
	$(BIN)/python manage.py run_pipeline --sample

## The whole test suite. Integration tests need Redis and PostgreSQL (see .env.example);
## with REQUIRE_INTEGRATION=1 (as CI sets) they fail instead of skipping when either is missing.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The production layout: prefork for nodes that compute, a thread pool for nodes that wait
## (workers/app.py IO_QUEUES). `make worker` runs both in the foreground; `make worker-all`
## runs one prefork worker on every queue instead.
IO_QUEUES := nodes.context,nodes.intelligence,nodes.notify
# Where web and workers write their counters for /metrics (docs/operations.md, "Metrics").
METRICS_DIR := $${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/var/metrics}
worker: migrate
	export PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR); \
	$(BIN)/celery -A workers worker --loglevel=INFO --concurrency=2 -X $(IO_QUEUES) -n cpu@%h & \
	$(BIN)/celery -A workers worker --loglevel=INFO --pool=threads --concurrency=16 -Q $(IO_QUEUES) -n io@%h; \
	wait

worker-all: migrate
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(BIN)/celery -A workers worker --loglevel=INFO --concurrency=2

beat: migrate
	$(BIN)/celery -A workers beat --loglevel=INFO

flower: $(STAMP)
	$(BIN)/celery -A workers flower --conf=deploy/flowerconfig.py

## Web only, on 127.0.0.1:$PORT (from the environment or .env; default 8000).
web: migrate static
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(BIN)/gunicorn project.wsgi --config deploy/gunicorn.conf.py

## The local stack in the background: web, worker, beat and Flower from deploy/Procfile
## (only web when no CELERY_BROKER_URL is set). Ports: PORT, FLOWER_PORT. Stop: make down.
up: migrate static
	$(BIN)/python deploy/stack.py up

down:
	$(BIN)/python deploy/stack.py down

bench: migrate
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
