# Two commands from a fresh clone: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# uv from PATH, else the one `python3 -m pip install uv` puts beside the interpreter.
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_PROJECT_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

LOCAL_DIR ?= .local
# The raw data folder: RAW_DIR (make data RAW_DIR=DIR) if given, else CLAIMS_FRAUD_RAW_DIR from
# the environment (the README's way to point at your own data), else .local/raw.
ifeq ($(origin RAW_DIR),undefined)
RAW_DIR := $(or $(CLAIMS_FRAUD_RAW_DIR),$(LOCAL_DIR)/raw)
endif
LINES ?= 200000
SEED ?= 42
# The demo with time in it (TIMELINE=1, the default), on the generated data (claims of
# 2024-2025; make data): the models train on claims ingested before DEMO_TRAIN_UNTIL (and the
# SIU outcomes closed before it), leaving out the first WARMUP_DAYS of claims (their
# point-in-time features lack history: the network features need member_history_days, 180, to
# know a new patient and 180 more to count a provider's, so 365; with less, the training
# window's reference holds features still filling up and quiet weeks drift from it); then the pipeline scores and monitors the claims
# ingested from DEMO_TRAIN_UNTIL to DEMO_SCORE_UNTIL in BATCH_DAYS-day batches, as if they had
# arrived week after week, with DEMO_SCORE_UNTIL as the monitoring date (SIU outcomes closed
# later are not known yet). The generated data drifts charges, units and telehealth from
# DRIFT_START by DRIFT_STRENGTH: at 0.4 the drifted input's PSI warns in the last weeks; at 0.6
# (`make clean; make run DRIFT_STRENGTH=0.6`) it errors, the pipeline job fails on purpose
# (exit 2), alerts and retrains. TIMELINE=0, and always with your own data (no
# .claims-fraud-demo marker in the raw folder): the models train on every claim and the
# pipeline scores them all as one batch.
TIMELINE ?= 1
DEMO_TRAIN_UNTIL ?= 2025-09-29
DEMO_SCORE_UNTIL ?= 2025-12-29
BATCH_DAYS ?= 7
WARMUP_DAYS ?= 365
DRIFT_START ?= 2025-11-24
DRIFT_STRENGTH ?= 0.4
export CLAIMS_FRAUD_RAW_DIR := $(abspath $(RAW_DIR))
export CLAIMS_FRAUD_DUCKDB_PATH ?= $(abspath $(LOCAL_DIR))/claims_fraud.duckdb
export CLAIMS_FRAUD_MLFLOW_DIR ?= $(abspath $(LOCAL_DIR))/mlflow
# make run trains when the registry has no @champion yet; TRAIN=1 forces a retrain.
TRAIN ?= auto

.PHONY: help setup data run build train train-only score monitor mlflow-ui docs lint test \
	test-python test-unit parse-databricks bench clean validate-workflows secrets pre-commit \
	validate-bundle test-spark checks test-slow browser

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

# --compile-bytecode: every Python process (dbt, each CLI task, each test's subprocess) reads
# compiled modules instead of compiling mlflow, dbt, sklearn... from source each time, which
# it does where PYTHONDONTWRITEBYTECODE is set (CI images often set it): 8 s instead of 23 s
# for `claims-fraud promote`. Costs about 30 s once, at install.
.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

setup: .venv/.synced ## Install the locked Python environment (uv)

# Demo data goes only into an empty folder or one the generator wrote (marker .claims-fraud-demo)
# that lacks the claims; a folder holding your files is read as it is, never written to. With
# claims there (any medical_claim*.parquet, what dbt reads) make only says whose data it is.
data: | .venv/.synced ## Generate the demo claims dataset into an empty RAW_DIR; your own data is used as is
	@if compgen -G "$(CLAIMS_FRAUD_RAW_DIR)/medical_claim*.parquet" >/dev/null; then \
		whose="your data, used as is"; \
		if [ -f "$(CLAIMS_FRAUD_RAW_DIR)/.claims-fraud-demo" ]; then whose="demo data"; fi; \
		echo "raw data: $(CLAIMS_FRAUD_RAW_DIR) ($$whose)"; \
	else \
		echo "$(RUN) claims-fraud generate --if-missing --lines $(LINES) --seed $(SEED) $(DEMO_DRIFT) --out $(CLAIMS_FRAUD_RAW_DIR)"; \
		$(RUN) claims-fraud generate --if-missing --lines $(LINES) --seed $(SEED) $(DEMO_DRIFT) --out "$(CLAIMS_FRAUD_RAW_DIR)"; \
	fi

build: data ## dbt build (seeds, models, tests) on the local DuckDB
	@mkdir -p $(LOCAL_DIR)
	$(RUN) dbt build --selector features

# Each target below runs the bundle's own jobs (resources/*.yml) through the local runner:
# `claims-fraud bundle run JOB [--only TASK] [--skip TASK]`: one line per task with its seconds,
# a digest of its output; whole task logs in $(LOCAL_DIR)/logs/<job>/<task>.log, library
# warnings in $(LOCAL_DIR)/logs/warnings.log, timings in $(TIMINGS) (`claims-fraud summary`).
BUNDLE_RUN := $(RUN) claims-fraud bundle run --local-dir $(LOCAL_DIR)
TIMINGS := $(LOCAL_DIR)/logs/timings.json
# CLI processes that make runs outside the runner (has-champion, summary) route there too.
run train train-only score monitor: export CLAIMS_FRAUD_WARNINGS_LOG := $(abspath $(LOCAL_DIR))/logs/warnings.log
DEMO_DRIFT := $(if $(filter 1,$(TIMELINE)),--drift-start $(DRIFT_START) --drift-strength $(DRIFT_STRENGTH))
# The demo timeline reaches the jobs as their parameters (resources/*.job.yml: the pipeline's
# scoring_*, the training's training_*), for the demo data only (the generator's marker file).
DEMO_PARAMS := pipeline_params=""; training_params=""; \
	if [ "$(TIMELINE)" = "1" ] && [ -f "$(CLAIMS_FRAUD_RAW_DIR)/.claims-fraud-demo" ]; then \
	pipeline_params="--params scoring_batch_id=week,scoring_window_start=$(DEMO_TRAIN_UNTIL),scoring_window_end=$(DEMO_SCORE_UNTIL),scoring_batch_days=$(BATCH_DAYS),monitoring_as_of=$(DEMO_SCORE_UNTIL)"; \
	training_params="--params training_cutoff=$(DEMO_TRAIN_UNTIL),training_warmup_days=$(WARMUP_DAYS)"; \
	echo "demo timeline: train on claims ingested before $(DEMO_TRAIN_UNTIL) (after a $(WARMUP_DAYS)-day warm-up), then score and monitor $(BATCH_DAYS)-day batches to $(DEMO_SCORE_UNTIL)"; fi

# The main job: the pipeline job (features, score, monitor, alerts, report; the training job
# when a PSI is at error), after the training job when the registry has no usable @champion
# (or TRAIN=1); then the summary (rows, timings, champion metrics, report, what to open next).
run: data ## The main job: the bundle's training (first run or TRAIN=1) and pipeline jobs on DuckDB, then a summary
	@mkdir -p $(LOCAL_DIR)/logs
	@rm -f $(TIMINGS)
	@$(DEMO_PARAMS); \
	skip=""; \
	if [ "$(TRAIN)" = "1" ]; then \
		echo "TRAIN=1: the training job runs first, then the pipeline job"; train=1; \
	elif $(RUN) claims-fraud has-champion; then train=0; \
	else echo "=> first the features and the training job, then the pipeline job"; train=1; fi; \
	if [ $$train = 1 ]; then \
		$(BUNDLE_RUN) claims_fraud_pipeline --only dbt_features; \
		$(BUNDLE_RUN) claims_fraud_training $$training_params; \
		skip="--skip dbt_features"; \
	fi; \
	status=0; \
	$(BUNDLE_RUN) claims_fraud_pipeline $$skip $$pipeline_params || status=1; \
	$(RUN) claims-fraud summary --duckdb $(CLAIMS_FRAUD_DUCKDB_PATH) --timings $(TIMINGS) || status=1; \
	exit $$status

train: data ## Features (the pipeline's dbt_features task), then the training job: train candidates, promotion gate
	@$(DEMO_PARAMS); \
	$(BUNDLE_RUN) claims_fraud_pipeline --only dbt_features; \
	$(BUNDLE_RUN) claims_fraud_training $$training_params

train-only: | .venv/.synced ## The training job alone (features already built)
	@$(DEMO_PARAMS); \
	$(BUNDLE_RUN) claims_fraud_training $$training_params

score: .venv/.synced ## Score a batch with the @champion models (the pipeline's dbt_score task)
	@$(DEMO_PARAMS); \
	$(BUNDLE_RUN) claims_fraud_pipeline --only dbt_score $$pipeline_params

# The pipeline job after scoring: monitoring, alerts, report, and (a PSI at error) the training
# job through its retrain_needed condition. Every task runs even when one before it reports
# errors (alerts and report are ALL_DONE); the target then fails if any did.
monitor: .venv/.synced ## Monitor scored batches, alert, write the HTML report, retrain on drift (pipeline job after dbt_score)
	@$(DEMO_PARAMS); \
	$(BUNDLE_RUN) claims_fraud_pipeline --skip dbt_features --skip dbt_score $$pipeline_params

mlflow-ui: .venv/.synced ## Open the local MLflow UI on http://localhost:5000
	$(RUN) mlflow ui --backend-store-uri sqlite:///$(CLAIMS_FRAUD_MLFLOW_DIR)/mlflow.db \
		--default-artifact-root file://$(CLAIMS_FRAUD_MLFLOW_DIR)/artifacts --port 5000

# Docs for every node (fqn:*, and the sources), not the default features selector, so the
# catalog also holds the ML and monitoring tables the DuckDB file has. Generating compiles
# the models and reads the catalog: it builds and trains nothing beyond `make build`.
docs: build ## Generate dbt docs for every node and serve them on http://localhost:8080
	$(RUN) dbt docs generate --select "fqn:*" "source:*"
	$(RUN) dbt docs serve --port 8080

lint: .venv/.synced ## ruff, the import-linter layer contract (pyproject.toml) and sqlfluff
	$(RUN) ruff check python_jobs resources benchmarks scripts
	$(RUN) ruff format --check python_jobs resources benchmarks scripts
	$(RUN) lint-imports --no-cache
	@mkdir -p $(LOCAL_DIR)
	$(RUN) sqlfluff lint models tests

# Every Databricks target parsed from scratch in one process (dbt's import paid once):
# scripts/parse_databricks.py; `make parse-databricks DATABRICKS_TARGETS=prod` parses one.
DATABRICKS_TARGETS ?= dev staging prod
parse-databricks: .venv/.synced ## dbt parse for every Databricks target, offline, with dummy credentials
	timeout 300 $(RUN) python scripts/parse_databricks.py $(DATABRICKS_TARGETS)

test-unit: .venv/.synced ## The fast loop (< 1 min): pytest without dbt, Spark or the slow generator run
	$(RUN) pytest -n 2 -m "not integration and not slow and not spark"

test-python: .venv/.synced ## pytest but the slow and Spark tests: unit tests, then dbt on DuckDB (integration, reliability), 2 workers
	$(RUN) pytest -n 2 --dist loadgroup -m "not slow"

test-slow: .venv/.synced browser ## The slow tests: scenarios with their own dataset or retrain, make in a subprocess, the report in Chromium (.ci/run runs them)
	$(RUN) pytest -n 2 --dist loadgroup -m slow

# The report's layout test renders the page in headless Chromium: Debian's package, installed
# here when missing (as root, else through sudo).
browser: ## Install headless Chromium (Debian's chromium) for the report layout test, if missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing Debian's chromium: the report layout test (make test-slow) renders the page with it"; \
		sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo"; fi; \
		{ $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core >/dev/null; } \
		|| { echo "could not install chromium: install it (apt-get install chromium), then rerun make test-slow" >&2; exit 1; }; }

validate-bundle: .venv/.synced ## databricks.yml + resources/ offline, every target (schema, Job.from_dict, selectors, entry points, condition/run_job tasks)
	$(RUN) claims-fraud bundle validate

test-spark: .venv/.synced ## The portable tests on a local Spark 4 session (Java 17), the Spark-only ones, monitoring == DuckDB
	$(RUN) pytest --target spark python_jobs/tests

validate-workflows: .venv/.synced ## GitHub workflows against the vendored SchemaStore schema
	$(RUN) check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# The vendored JSON schemas (schemas/*.schema.json, 1 MB of upstream text that took 14 of the
# scan's 28 s) are pinned by sha256 instead (schemas/SOURCES.md, checked by test_workflows.py).
secrets: .venv/.synced ## detect-secrets on every tracked file (vendored schemas: sha256-pinned) against .secrets.baseline
	git ls-files -z -- . ':!:schemas/*.schema.json' | xargs -0 $(RUN) detect-secrets-hook \
		--baseline .secrets.baseline

pre-commit: .venv/.synced ## Install the git pre-commit hooks (local, offline)
	$(RUN) pre-commit install

# The static checks need no data: two at a time (2 cores), each one's output kept together,
# parse-databricks first (the longest but sqlfluff). CHECK_JOBS=1 runs them one by one.
CHECK_JOBS ?= 2
checks: .venv/.synced ## parse-databricks, lint, secrets, validate-bundle, validate-workflows (CHECK_JOBS at a time)
	@$(MAKE) --no-print-directory -j $(CHECK_JOBS) --output-sync=target parse-databricks lint \
		secrets validate-bundle validate-workflows

# The checks run beside pytest: alone they leave a core idle while sqlfluff finishes, and
# pytest's workers wait on the session's shared build; together both cores stay busy (about
# 30 s less). Their output is printed after pytest's; make test fails if either did.
test: .venv/.synced ## The static checks (checks) beside pytest (test-python); CI then runs test-slow and test-spark (.ci/run)
	@mkdir -p $(LOCAL_DIR)
	@$(MAKE) --no-print-directory checks > $(LOCAL_DIR)/checks.log 2>&1 & checks=$$!; \
	$(MAKE) --no-print-directory test-python; pytest_rc=$$?; \
	wait $$checks; checks_rc=$$?; \
	echo "==== make checks, run beside pytest (log: $(LOCAL_DIR)/checks.log) ===="; \
	cat $(LOCAL_DIR)/checks.log; \
	if [ $$checks_rc -ne 0 ]; then echo "make test: FAILED in the static checks above; rerun the one that failed (make lint, make secrets, make parse-databricks, make validate-bundle, make validate-workflows)"; fi; \
	if [ $$pytest_rc -ne 0 ]; then echo "make test: FAILED in pytest (make test-python); rerun one test with: uv run --frozen pytest PATH::NAME -x"; fi; \
	[ $$checks_rc -eq 0 ] && [ $$pytest_rc -eq 0 ]

bench: .venv/.synced ## The whole pipeline (generate, features, train, score, monitor) at 1M/10M; the monitoring job vs Evidently at 100k/1M/5M (not part of test)
	$(RUN) python -m benchmarks.bench --lines 1000000 10000000
	$(RUN) python -m benchmarks.bench_monitor

clean: ## Remove local state (DuckDB, raw data, dbt target)
	rm -rf $(LOCAL_DIR) target logs
