"""Portability check on a local Apache Spark (`make test-spark`).

Runs, from scratch under ``.local/spark/`` (or ``--dir``):

1. generate a small claims dataset with the project's generator and register its Parquet
   files as tables ``raw_claims.<table>`` in the local Spark metastore (Derby, under the
   same folder), where the dbt ``spark`` target (dbt-spark, session method) finds them;
2. ``dbt build --selector features --target spark``: seeds, every SQL model, data and unit
   tests;
3. the dbt Python models on Spark: dbt-spark's session method cannot run them, so dbt
   compiles them for the ``spark`` target and this check executes the compiled code the way
   the Databricks materialization does (``model(dbtObj(spark.table), spark)``, the pandas
   result converted as dbt-databricks converts it, saved as the model's table): training on
   the Spark feature table and the challenger's scores, then (dbt on Spark) the disparate
   impact the gate reads, the promotion gate (``claims-fraud promote --warehouse spark``),
   scoring and the reference tables, then (dbt on Spark) the reference profile; then ``dbt
   build --selector monitor`` on those scores, and ``claims-fraud alerts`` / ``report`` with
   ``--warehouse spark``;
4. monitoring: the inputs the Python models write (fraud_scores, ml_reference_bins,
   ml_reference_scores, ml_reference_score_quantiles) and fct_claim_features are built from a
   random fixture (as in python_jobs/tests/integration/test_monitoring_sql.py) and written
   both to Spark and to a DuckDB file; the reference profile (SQL), the monitoring models,
   their data and unit tests then run on both targets: every node has the same outcome on
   both, and every column of every monitoring table is compared: numbers within 1e-9,
   everything else exactly.

Exits non-zero on any failure and prints a summary of the steps and their durations.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[3]
RAW_TABLES = ("medical_claim", "eligibility", "provider", "siu_investigation", "fraud_ground_truth")
RAW_SCHEMA = "raw_claims"
SPARK_SCHEMA = "claims_fraud"  # the features build
# The monitoring fixture check, apart from it (a name that is not claims_fraud_*: the CLI finds
# tables across <schema>_* schemas and must not see the fixture's).
MONITORING_SPARK_SCHEMA = "fixture"
TOLERANCE = 1e-9
MONITORING_TABLES = (
    "mon_batches",
    "mon_data_volume",
    "mon_disparate_impact",
    "mon_feature_psi",
    "mon_feature_psi_bins",
    "mon_score_distribution",
)
# Sort keys that make each monitoring table's row order deterministic for the comparison.
EMPTY_BATCH = "b_empty"


def spark_conf(spark_dir: Path) -> dict[str, str]:
    """The session settings of the `spark` output in profiles/profiles.yml (keep in step)."""
    return {
        "spark.master": "local[2]",
        "spark.driver.memory": os.environ.get("CLAIMS_FRAUD_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.warehouse.dir": f"{spark_dir}/warehouse",
        "javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_dir}/metastore_db;create=true"
        ),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={spark_dir} -Dderby.stream.error.file={spark_dir}/derby.log"
        ),
    }


def spark_session(spark_dir: Path):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("claims_fraud_spark_check").enableHiveSupport()
    for key, value in spark_conf(spark_dir).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@dataclass
class Report:
    steps: list[tuple[str, bool, float, str]] = field(default_factory=list)

    def record(self, name: str, ok: bool, seconds: float, detail: str = "") -> None:
        self.steps.append((name, ok, seconds, detail))
        mark = "PASS" if ok else "FAIL"
        print(f"[spark-check] {mark} {name} ({seconds:.1f}s) {detail}", flush=True)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _, _ in self.steps)

    def summary(self) -> str:
        lines = ["", "=== spark check summary ==="]
        for name, ok, seconds, detail in self.steps:
            lines.append(f"  {'PASS' if ok else 'FAIL'}  {name:<40} {seconds:7.1f}s  {detail}")
        total = sum(seconds for _, _, seconds, _ in self.steps)
        lines.append(f"  {'OK' if self.ok else 'FAILED'}: {total:.1f}s in all")
        return "\n".join(lines)


def dbt_env(
    spark_dir: Path,
    target: str,
    run_dir: Path,
    duckdb_path: Path | None = None,
    spark_schema: str = SPARK_SCHEMA,
):
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT / "profiles"),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_TARGET": target,
        "DBT_TARGET_PATH": str(run_dir / "target"),
        "DBT_LOG_PATH": str(run_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "CLAIMS_FRAUD_SPARK_DIR": str(spark_dir),
        "CLAIMS_FRAUD_SPARK_SCHEMA": spark_schema,
        "CLAIMS_FRAUD_RAW_DIR": str(spark_dir / "raw"),
        "CLAIMS_FRAUD_MEMORY_LIMIT": "2GB",
        "CLAIMS_FRAUD_MLFLOW_DIR": str(run_dir / "mlflow"),
    }
    if duckdb_path is not None:
        env["CLAIMS_FRAUD_DUCKDB_PATH"] = str(duckdb_path)
    return env


# Tests whose failure is a verdict on the data (drift, disparate impact, volume), not a bug:
# on the fixture they warn and fail by design, identically on both engines.
STATUS_TESTS = (
    "psi_within",
    "disparate_impact_within",
    "score_distribution_stable",
    "volume_stable",
)
OK_STATUSES = {"success", "pass", "warn", "no-op"}  # no-op: exposures


def node_results(run_dir: Path) -> dict[str, str]:
    """{unique_id: status} of the last dbt command run with ``dbt_env(..., run_dir)``."""
    results = json.loads((run_dir / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"]: result["status"] for result in results}


def is_status_test(unique_id: str) -> bool:
    return unique_id.startswith("test.") and unique_id.split(".")[2].startswith(STATUS_TESTS)


def not_ok(results: dict[str, str]) -> list[str]:
    """Nodes that did not pass, other than the status tests."""
    return sorted(
        f"{uid} {status}"
        for uid, status in results.items()
        if status not in OK_STATUSES and not is_status_test(uid)
    )


def run_dbt(args: list[str], env: dict[str, str], log: Path) -> tuple[bool, str]:
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    tail = [
        line
        for line in result.stdout.splitlines()
        if "Done. PASS" in line or " ERROR " in line or "FAIL" in line or "Error" in line
    ]
    if result.returncode != 0:
        print(result.stdout[-6000:], result.stderr[-3000:], sep="\n", flush=True)
    last = (
        re.sub(r"^\d\d:\d\d:\d\d\s+", "", re.sub(r"\x1b\[[0-9;]*m", "", tail[-1]).strip())
        if tail
        else ""
    )
    return result.returncode == 0, (last or f"rc={result.returncode}")


# ---- 1. raw data ---------------------------------------------------------------------------


def generate_raw(raw_dir: Path, lines: int, seed: int) -> None:
    from claims_fraud.cli.main import main as cli_main

    code = cli_main(
        [
            "generate",
            "--lines",
            str(lines),
            "--seed",
            str(seed),
            "--out",
            str(raw_dir),
            "--no-progress",
        ]
    )
    if code not in (0, None):
        raise RuntimeError(f"claims-fraud generate exited {code}")


def register_raw_tables(spark, raw_dir: Path) -> dict[str, int]:
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    counts = {}
    for table in RAW_TABLES:
        # A metastore table's location is a folder: one folder per table, the file inside.
        path = (raw_dir.parent / "raw_tables" / table).resolve()
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        shutil.copyfile(raw_dir / f"{table}.parquet", path / "part-0.parquet")
        spark.sql(f"drop table if exists {RAW_SCHEMA}.{table}")
        spark.sql(f"create table {RAW_SCHEMA}.{table} using parquet location '{path}'")
        counts[table] = spark.table(f"{RAW_SCHEMA}.{table}").count()
    return counts


# ---- 2. monitoring inputs: the fixture of test_monitoring_sql.py -----------------------------

LEVELS = ("alpha", "beta", "gamma", "delta", "rare")
LEVEL_P = (0.4, 0.3, 0.2, 0.095, 0.005)
REGIONS = ("Midwest", "Northeast", "South", "West")
BATCHES = [f"b{i}" for i in range(1, 9)]
DRIFTED, ALL_NULL_BATCH, NO_PROFILE_BATCH = "b6", "b8", "b9"
ALL_NULL_FEATURE = "days_to_payment"
# Where dbt's refs to the Python models and the feature table resolve, per target.
MONITORING_INPUTS = {
    "fct_claim_features": "features",
    "fraud_scores": "ml",
    "ml_reference_bins": "ml",
    "ml_reference_scores": "ml",
    "ml_reference_score_quantiles": "ml",
}


def _features(spec, n: int, rng: np.random.Generator, drift: float = 0.0) -> pd.DataFrame:
    frame = {}
    for i, column in enumerate(spec.numeric):
        if i % 2 == 0:  # integers: many ties on the decile edges
            values = rng.poisson(3 + 3 * drift, n).astype(float)
        else:
            values = np.round(rng.lognormal(3 + drift, 1, n), 2)
        values[rng.random(n) < 0.03] = np.nan
        if i % 5 == 1:
            values[rng.random(n) < 0.002] = 1e12  # outliers land in the open last bin
        frame[column] = values
    for column in spec.boolean:
        values = pd.array(rng.random(n) < 0.3 + 0.3 * drift, dtype="boolean")
        values[rng.random(n) < 0.02] = pd.NA
        frame[column] = values
    for column in spec.categorical:
        values = rng.choice(LEVELS, size=n, p=LEVEL_P).astype(object)
        if drift:
            values[rng.random(n) < 0.2] = "never_seen"
        values[rng.random(n) < 0.02] = None
        frame[column] = values
    frame["gender"] = rng.choice(["female", "male", None], size=n, p=[0.5, 0.49, 0.01])
    frame["age_group"] = rng.choice(["18-34", "35-49", "50-64", "65+"], size=n)
    frame["member_region"] = rng.choice(REGIONS, size=n)
    return pd.DataFrame(frame)


def monitoring_fixture(seed: int = 2026) -> dict[str, pd.DataFrame]:
    """Random reference profile and scored batches (ties, outliers, nulls, NaN, an unseen
    level, an all-null feature, a drifted batch, a model version without a profile)."""
    from claims_fraud.features.spec import load_feature_spec
    from claims_fraud.ml.profile import reference_bins, score_quantile_grid

    rng = np.random.default_rng(seed)
    spec = load_feature_spec()
    reference = _features(spec, 5000, rng)
    reference_score = rng.beta(2, 8, len(reference))
    bins = reference_bins(reference, spec, reference_score)
    grid = score_quantile_grid(reference_score)
    reference.insert(0, "claim_id", [f"ref-{j}" for j in range(len(reference))])
    reference_scores = reference[["claim_id"]].assign(fraud_probability=reference_score)
    for frame in (bins, grid, reference_scores):
        frame.insert(0, "run_id", "run-1")
        frame.insert(0, "model_version", "1")
        frame.insert(0, "model_name", "claims_fraud_classifier")

    features, scores = [], []
    start = datetime(2026, 3, 1)
    for i, batch in enumerate([*BATCHES, NO_PROFILE_BATCH]):
        n = int(rng.integers(900, 1300)) if batch != "b7" else 2600  # b7: a volume spike
        frame = _features(spec, n, rng, drift=1.0 if batch == DRIFTED else 0.0)
        if batch == ALL_NULL_BATCH:
            frame[ALL_NULL_FEATURE] = np.nan
        frame.insert(0, "claim_id", [f"{batch}-{j}" for j in range(n)])
        probability = rng.beta(2, 8 - 4 * (batch == DRIFTED), n)
        region_boost = np.where(frame["member_region"] == "West", 0.3, 0.0) * (batch == "b5")
        flagged = rng.random(n) < np.clip(0.05 + region_boost, 0, 1)
        scores.append(
            pd.DataFrame(
                {
                    "claim_id": frame["claim_id"],
                    "fraud_probability": probability,
                    "anomaly_score": rng.gamma(2, 1.5, n),
                    "is_flagged": flagged,
                    "model_name": "claims_fraud_classifier",
                    "model_version": "2" if batch == NO_PROFILE_BATCH else "1",
                    "batch_id": batch,
                    "scored_at": start + timedelta(days=i),
                }
            )
        )
        features.append(frame)
    return {
        "fct_claim_features": pd.concat([*features, reference], ignore_index=True),
        "fraud_scores": pd.concat(scores, ignore_index=True),
        "ml_reference_bins": bins,
        "ml_reference_scores": reference_scores,
        "ml_reference_score_quantiles": grid,
    }


def write_monitoring_inputs_duckdb(duckdb_path: Path, parquet_dir: Path) -> None:
    """The fixture into the DuckDB file (schemas main_<suffix>, as the `local` target names
    them), and the same tables as Parquet for Spark: both engines read identical data."""
    import duckdb

    parquet_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        for name, frame in monitoring_fixture().items():
            schema = f"main_{MONITORING_INPUTS[name]}"
            con.execute(f"create schema if not exists {schema}")
            con.register("frame", frame)
            con.execute(f"create or replace table {schema}.{name} as select * from frame")
            con.unregister("frame")
            con.execute(f"copy {schema}.{name} to '{parquet_dir / name}.parquet' (format parquet)")


def write_monitoring_inputs_spark(spark, parquet_dir: Path) -> None:
    for name, suffix in MONITORING_INPUTS.items():
        schema = f"{MONITORING_SPARK_SCHEMA}_{suffix}"
        spark.sql(f"create database if not exists {schema}")
        spark.sql(f"drop table if exists {schema}.{name}")
        path = f"{(parquet_dir / name).resolve()}.parquet"
        select = f"select * from parquet.`{path}`"
        spark.sql(f"create table {schema}.{name} using parquet as {select}")


def dump_monitoring_spark(spark, out_dir: Path) -> None:
    for name in MONITORING_TABLES:
        target = (out_dir / name).resolve()
        spark.table(f"{MONITORING_SPARK_SCHEMA}_monitoring.{name}").coalesce(1).write.mode(
            "overwrite"
        ).parquet(str(target))


def dump_monitoring_duckdb(duckdb_path: Path, out_dir: Path) -> None:
    import duckdb

    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for name in MONITORING_TABLES:
            con.execute(
                f"copy main_monitoring.{name} to '{out_dir / name}.parquet' (format parquet)"
            )


# Columns that hold the time dbt ran, different between two runs by construction.
RUN_TIME_COLUMNS = {"run_started_at", "monitored_at"}


def _read(path: Path) -> pd.DataFrame:
    import duckdb

    pattern = f"{path}/*.parquet" if path.is_dir() else str(path)
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?)", [pattern]).df()


def compare_tables(duck: pd.DataFrame, spark: pd.DataFrame, name: str) -> list[str]:
    """Every column of one monitoring table: numbers within TOLERANCE, the rest exactly."""
    problems = []
    if set(duck.columns) != set(spark.columns):
        return [
            f"{name}: columns differ: duckdb-only {sorted(set(duck.columns) - set(spark.columns))}"
            f", spark-only {sorted(set(spark.columns) - set(duck.columns))}"
        ]
    if len(duck) != len(spark):
        return [f"{name}: {len(duck)} rows on DuckDB, {len(spark)} on Spark"]
    columns = [c for c in duck.columns if c not in RUN_TIME_COLUMNS]
    numeric = [
        c
        for c in columns
        if (pd.api.types.is_numeric_dtype(duck[c]) and not pd.api.types.is_bool_dtype(duck[c]))
        or duck[c].map(lambda v: hasattr(v, "as_integer_ratio") and not isinstance(v, bool)).any()
    ]
    keys = [c for c in columns if c not in numeric]

    def normalise(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[columns].copy()
        if {"batch_id", "scored_at"} <= set(columns):
            # The empty batch has no scores: mon_batches dates it at the run's start time.
            frame["scored_at"] = frame["scored_at"].astype(object)
            frame.loc[frame["batch_id"] == EMPTY_BATCH, "scored_at"] = None
        for c in numeric:
            frame[c] = pd.to_numeric(frame[c].astype(object), errors="coerce").astype(float)
        for c in keys:
            if pd.api.types.is_datetime64_any_dtype(frame[c]):
                series = frame[c]
                if getattr(series.dt, "tz", None) is not None:
                    series = series.dt.tz_convert("UTC").dt.tz_localize(None)
                frame[c] = series.astype("datetime64[us]").astype(str)
            else:
                frame[c] = (
                    frame[c]
                    .astype(object)
                    .where(frame[c].notna(), None)
                    .map(lambda v: None if v is None else str(v))
                )
        return frame.sort_values(keys + numeric, na_position="last").reset_index(drop=True)

    a, b = normalise(duck), normalise(spark)
    for c in keys:
        differ = ~((a[c] == b[c]) | (a[c].isna() & b[c].isna()))
        if differ.any():
            i = int(np.flatnonzero(differ.to_numpy())[0])
            problems.append(
                f"{name}.{c}: {int(differ.sum())} rows differ, e.g. row {i}: "
                f"duckdb={a[c][i]!r} spark={b[c][i]!r}"
            )
    for c in numeric:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        both_null = np.isnan(x) & np.isnan(y)
        with np.errstate(invalid="ignore"):
            close = both_null | (np.abs(x - y) <= TOLERANCE) | (x == y)
        if not close.all():
            i = int(np.flatnonzero(~close)[0])
            problems.append(
                f"{name}.{c}: {int((~close).sum())} rows differ beyond {TOLERANCE}, "
                f"e.g. row {i}: duckdb={x[i]!r} spark={y[i]!r}"
            )
    return problems


# ---- 3. the dbt Python models on Spark ------------------------------------------------------

# In dependency order; the promotion gate runs between training and scoring, as in the bundle.
TRAINING_MODELS = ("ml_training_runs", "ml_challenger_scores")
SCORING_MODELS = (
    "fraud_scores",
    "ml_reference_bins",
    "ml_reference_scores",
    "ml_reference_score_quantiles",
)
# The SQL models after each, built by dbt on Spark: what the gate reads, the reference profile.
AFTER_TRAINING = ("build", "--select", "ml_challenger_disparate_impact")
AFTER_SCORING = ("build", "--select", "ml_reference_profile")


def to_spark_frame(spark, df):
    """A Python model's result as the Spark DataFrame dbt-databricks 1.12 saves: its
    ``databricks__py_write_table`` converts pandas through the pandas API on Spark when that
    imports (DBR 15.4: pandas 1.5) and falls back to ``spark.createDataFrame`` when it does not
    (here: pandas 3) or when ANSI mode refuses it. Transcribed, not imported: the macro is
    Jinja that only renders inside a Databricks run."""
    from pyspark.sql import DataFrame

    try:
        import pyspark.pandas as ps
    except ImportError:
        ps = None
    if ps is not None and isinstance(df, pd.DataFrame):
        try:
            df = ps.frame.DataFrame(df)
        except Exception as exc:
            message = str(exc).lower()
            ansi = ("pandas_api_on_spark_fail_on_ansi_mode", "ansi mode", "ansimode", "sql_mode")
            if not any(word in message for word in ansi):
                raise
    if isinstance(df, DataFrame):
        return df
    if ps is not None and isinstance(df, ps.frame.DataFrame):
        return df.to_spark()
    if isinstance(df, pd.DataFrame):
        return spark.createDataFrame(df)
    raise TypeError(f"{type(df)} is not a supported type for dbt Python materialization")


def run_compiled_python_model(spark, compiled: Path) -> tuple[str, int]:
    """Execute one model as dbt compiled it for the ``spark`` target (its ref/source/config
    shims included) and save the result as its table; returns the table and its row count."""
    namespace: dict[str, object] = {"__name__": f"dbt_model_{compiled.stem}", "spark": spark}
    code = compile(compiled.read_text(), str(compiled), "exec")
    exec(code, namespace)  # noqa: S102 - the project's own model, compiled by dbt
    dbt = namespace["dbtObj"](spark.table)  # type: ignore[operator]
    frame = to_spark_frame(spark, namespace["model"](dbt, spark))  # type: ignore[operator]
    table = repr(dbt.this)
    spark.sql(f"create database if not exists {table.split('.')[0]}")
    frame.write.mode("overwrite").option("overwriteSchema", "true").saveAsTable(table)
    return table, spark.table(table).count()


def run_python_models(spark, spark_dir: Path, stage: str) -> None:
    """stage train: the training models; score: the promotion gate, then the scoring models."""
    from claims_fraud.cli.main import main as cli_main

    compiled = spark_dir / "dbt_python" / "target" / "compiled" / "claims_fraud" / "models" / "ml"
    warehouse_args = ["--warehouse", "spark", "--catalog", "spark_catalog"]
    warehouse_args += ["--schema", SPARK_SCHEMA, "--mlflow-dir", str(spark_dir / "mlflow")]
    if stage == "train":
        for name in TRAINING_MODELS:
            table, rows = run_compiled_python_model(spark, compiled / f"{name}.py")
            print(f"python model {name}: {rows} rows in {table}", flush=True)
        return
    code = cli_main(["promote", *warehouse_args])
    if code != 0:
        raise SystemExit(f"claims-fraud promote --warehouse spark exited {code}")
    _champion_for_the_check(spark_dir / "mlflow")
    for name in SCORING_MODELS:
        table, rows = run_compiled_python_model(spark, compiled / f"{name}.py")
        print(f"python model {name}: {rows} rows in {table}", flush=True)


def _champion_for_the_check(mlflow_dir: Path) -> None:
    """Scoring needs a @champion. On this small sample the promotion gate may decline the
    challenger (say, a disparate impact outside the band): a verdict on the data, recorded in
    ml_promotion_decisions, not a portability failure. The check then makes the challenger
    (and its autoencoder) @champion itself, as promote would, and says so."""
    from claims_fraud.ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, version_by_alias

    settings = MlflowSettings.local(mlflow_dir)
    client = settings.activate()
    if version_by_alias(client, settings.classifier_name, CHAMPION) is not None:
        return
    challenger = version_by_alias(client, settings.classifier_name, CHALLENGER)
    if challenger is None:
        raise SystemExit("training registered no @challenger")
    client.set_registered_model_alias(settings.classifier_name, CHAMPION, challenger.version)
    autoencoder = challenger.tags.get("autoencoder_version")
    if autoencoder:
        client.set_registered_model_alias(settings.autoencoder_name, CHAMPION, autoencoder)
    print(
        f"the gate declined v{challenger.version} on this sample (see ml_promotion_decisions); "
        "the check made it @champion itself to go on scoring",
        flush=True,
    )


def run_alerts_and_report(spark_dir: Path) -> None:
    from claims_fraud.cli.main import main as cli_main

    warehouse_args = ["--warehouse", "spark", "--catalog", "spark_catalog"]
    warehouse_args += ["--schema", SPARK_SCHEMA, "--mlflow-dir", str(spark_dir / "mlflow")]
    # Exit 1 is a verdict (an error or a DI fail); 2 would be a usage or missing-table error.
    code = cli_main(["alerts", *warehouse_args, "--retrain", "off"])
    if code not in (0, 1):
        raise SystemExit(f"claims-fraud alerts --warehouse spark exited {code}")
    out = spark_dir / "monitoring_report.html"
    code = cli_main(["report", *warehouse_args, "--out", str(out)])
    if code != 0 or not out.is_file():
        raise SystemExit(f"claims-fraud report --warehouse spark exited {code}")
    print(f"alerts and report on Spark: report {out.stat().st_size} bytes", flush=True)


# ---- orchestration ---------------------------------------------------------------------------


def _spark_action(action: str, spark_dir: Path) -> None:
    """One Spark job in its own process: the embedded Derby metastore admits one JVM at a
    time, and dbt's session opens its own."""
    spark = spark_session(spark_dir)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        if action == "load-raw":
            counts = register_raw_tables(spark, spark_dir / "raw")
            print("raw tables: " + ", ".join(f"{RAW_SCHEMA}.{k}={v}" for k, v in counts.items()))
        elif action == "load-monitoring":
            write_monitoring_inputs_spark(spark, spark_dir / "monitoring" / "inputs")
        elif action == "dump-monitoring":
            dump_monitoring_spark(spark, spark_dir / "monitoring" / "spark_out")
        elif action in ("python-train", "python-score"):
            run_python_models(spark, spark_dir, action.removeprefix("python-"))
        elif action == "alerts-report":
            run_alerts_and_report(spark_dir)
        else:
            raise SystemExit(f"unknown spark action {action}")
    finally:
        spark.stop()


def _run_spark_action(action: str, spark_dir: Path, log: Path) -> tuple[bool, str]:
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--dir",
            str(spark_dir),
            "--spark-action",
            action,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-6000:], sep="\n", flush=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return result.returncode == 0, (lines[-1] if lines else f"rc={result.returncode}")


def _timed(report: Report, name: str, func) -> bool:
    start = time.monotonic()
    try:
        outcome = func()
        ok, detail = outcome if isinstance(outcome, tuple) else (True, "")
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    report.record(name, ok, time.monotonic() - start, detail)
    return ok


def run_check(spark_dir: Path, lines: int, seed: int, steps: set[str]) -> Report:
    report = Report()
    logs = spark_dir / "logs"
    mon = spark_dir / "monitoring"
    duckdb_path = mon / "monitoring.duckdb"
    empty_batch_vars = f"{{scoring_batch_id: {EMPTY_BATCH}}}"
    # the monitor selector: its models, its seeds and their tests, not the features slice's
    mon_build = ["build", "--selector", "monitor"]
    mon_build += ["--vars", empty_batch_vars]

    if "features" in steps:
        if not _timed(
            report, "generate raw data", lambda: generate_raw(spark_dir / "raw", lines, seed)
        ):
            return report
        if not _timed(
            report,
            "register raw tables in Spark",
            lambda: _run_spark_action("load-raw", spark_dir, logs / "load_raw.log"),
        ):
            return report
        env = dbt_env(spark_dir, "spark", spark_dir / "dbt_features")
        if not _timed(
            report,
            "dbt build --selector features (spark)",
            lambda: run_dbt(["build", "--selector", "features"], env, logs / "dbt_features.log"),
        ):
            return report

    if "python" in steps:
        env = dbt_env(spark_dir, "spark", spark_dir / "dbt_python")
        # The compiled models carry the MLflow store in their config; promote reads the same.
        env["CLAIMS_FRAUD_MLFLOW_DIR"] = str(spark_dir / "mlflow")
        ok = (
            _timed(
                report,
                "dbt compile the Python models (spark)",
                lambda: run_dbt(
                    ["compile", "--select", "path:models/ml"], env, logs / "compile.log"
                ),
            )
            and _timed(
                report,
                "Python models on Spark: train",
                lambda: _run_spark_action("python-train", spark_dir, logs / "python_train.log"),
            )
            and _timed(
                report,
                "dbt build ml_challenger_disparate_impact (spark)",
                lambda: run_dbt(list(AFTER_TRAINING), env, logs / "challenger_di.log"),
            )
            and _timed(
                report,
                "Python models on Spark: promote, score",
                lambda: _run_spark_action("python-score", spark_dir, logs / "python_score.log"),
            )
            and _timed(
                report,
                "dbt build ml_reference_profile (spark)",
                lambda: run_dbt(list(AFTER_SCORING), env, logs / "reference_profile.log"),
            )
        )
        if ok:
            monitor_env = dbt_env(spark_dir, "spark", spark_dir / "dbt_monitor")
            _timed(
                report,
                "dbt build --selector monitor on the scores",
                lambda: _build_ok(
                    # unit tests: in the monitoring step below, once is enough on Spark
                    run_dbt(
                        ["build", "--selector", "monitor", "--exclude", "test_type:unit"],
                        monitor_env,
                        logs / "monitor.log",
                    ),
                    spark_dir / "dbt_monitor",
                ),
            )
            _timed(
                report,
                "alerts + report --warehouse spark",
                lambda: _run_spark_action("alerts-report", spark_dir, logs / "alerts_report.log"),
            )

    if "monitoring" in steps:
        shutil.rmtree(mon, ignore_errors=True)
        mon.mkdir(parents=True)
        if not _timed(
            report,
            "monitoring inputs (DuckDB + Parquet)",
            lambda: write_monitoring_inputs_duckdb(duckdb_path, mon / "inputs"),
        ):
            return report
        duck_env = dbt_env(spark_dir, "local", mon / "dbt_duckdb", duckdb_path)
        spark_env = dbt_env(
            spark_dir, "spark", mon / "dbt_spark", spark_schema=MONITORING_SPARK_SCHEMA
        )
        ok = _timed(
            report,
            "reference profile build (duckdb)",
            lambda: run_dbt(list(AFTER_SCORING), duck_env, logs / "dbt_ref_duckdb.log"),
        ) and _timed(
            report,
            "monitoring build with tests (duckdb)",
            lambda: _build_ok(
                run_dbt(mon_build, duck_env, logs / "dbt_mon_duckdb.log"), mon / "dbt_duckdb"
            ),
        )
        ok = (
            _timed(
                report,
                "monitoring inputs into Spark",
                lambda: _run_spark_action("load-monitoring", spark_dir, logs / "load_mon.log"),
            )
            and ok
        )
        ok = (
            _timed(
                report,
                "reference profile build (spark)",
                lambda: run_dbt(list(AFTER_SCORING), spark_env, logs / "dbt_ref_spark.log"),
            )
            and _timed(
                report,
                "monitoring build with tests (spark)",
                lambda: _build_ok(
                    run_dbt(mon_build, spark_env, logs / "dbt_mon_spark.log"), mon / "dbt_spark"
                ),
            )
            and ok
        )
        if not ok:
            return report
        _timed(
            report,
            "same test outcomes on DuckDB and Spark",
            lambda: _same_outcomes(
                node_results(mon / "dbt_duckdb"), node_results(mon / "dbt_spark")
            ),
        )
        _timed(
            report,
            "read back monitoring tables",
            lambda: (
                dump_monitoring_duckdb(duckdb_path, mon / "duckdb_out"),
                _run_spark_action("dump-monitoring", spark_dir, logs / "dump_mon.log"),
            )[1],
        )
        _timed(report, "compare monitoring DuckDB vs Spark", lambda: _compare_all(mon))
    return report


def _build_ok(outcome: tuple[bool, str], run_dir: Path) -> tuple[bool, str]:
    """A dbt build whose only failures may be the status tests (verdicts on the data)."""
    ok, detail = outcome
    if ok:
        return ok, detail
    path = run_dir / "target" / "run_results.json"
    if not path.is_file():
        return False, detail
    results = node_results(run_dir)
    problems = not_ok(results)
    verdicts = sum(1 for uid, status in results.items() if is_status_test(uid) and status != "pass")
    if problems:
        return False, f"{detail}; not passing: {', '.join(problems[:5])}"
    return True, f"{detail} ({verdicts} status test verdicts, everything else passes)"


def _same_outcomes(duck: dict[str, str], spark: dict[str, str]) -> tuple[bool, str]:
    if set(duck) != set(spark):
        return False, f"different nodes: {sorted(set(duck) ^ set(spark))[:5]}"
    differ = sorted(
        f"{uid}: duckdb {duck[uid]}, spark {spark[uid]}" for uid in duck if duck[uid] != spark[uid]
    )
    units = sum(1 for uid in duck if uid.startswith("unit_test."))
    tests = sum(1 for uid in duck if uid.startswith("test."))
    if differ:
        return False, "; ".join(differ[:5])
    return True, f"{len(duck)} nodes ({tests} data tests, {units} unit tests) alike"


def _compare_all(mon: Path) -> tuple[bool, str]:
    problems, cells = [], 0
    for name in MONITORING_TABLES:
        duck = _read(mon / "duckdb_out" / f"{name}.parquet")
        spark = _read(mon / "spark_out" / name)
        cells += duck.size
        found = compare_tables(duck, spark, name)
        problems.extend(found)
        print(
            f"[spark-check]   {name}: {len(duck)} rows x {len(duck.columns)} columns "
            f"{'identical within ' + str(TOLERANCE) if not found else 'DIFFER'}",
            flush=True,
        )
    for problem in problems:
        print(f"[spark-check]   {problem}", flush=True)
    return (
        not problems,
        f"{len(MONITORING_TABLES)} tables, {cells} cells, {len(problems)} differences",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir",
        type=Path,
        default=PROJECT_ROOT / ".local" / "spark",
        help="Spark state (warehouse, metastore, data, logs); wiped first",
    )
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        choices=("features", "python", "monitoring"),
        default=None,
        help="run one part only (default both)",
    )
    parser.add_argument("--keep", action="store_true", help="do not wipe --dir first")
    parser.add_argument("--spark-action", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    spark_dir = args.dir.resolve()
    if args.spark_action:
        _spark_action(args.spark_action, spark_dir)
        return 0
    if not args.keep and args.only is None:
        shutil.rmtree(spark_dir, ignore_errors=True)
    spark_dir.mkdir(parents=True, exist_ok=True)
    steps = {args.only} if args.only else {"features", "python", "monitoring"}
    start = time.monotonic()
    report = run_check(spark_dir, args.lines, args.seed, steps)
    print(report.summary())
    print(f"  wall time {time.monotonic() - start:.0f}s; logs under {spark_dir / 'logs'}")
    return 0 if report.ok and report.steps else 1


if __name__ == "__main__":
    sys.exit(main())
