"""DuckDB == Spark: the same monitoring inputs (monitoring_fixture, seeded) built by dbt on
both engines give the same node outcomes and the same monitoring tables, every column of
every row: numbers within 1e-9, everything else exactly. The Spark build is the session's
monitoring_build (conftest, --target spark); the DuckDB one is made here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from harness import make_project
from monitoring_fixture import EMPTY_BATCH, MONITORING_TABLES, MonitoringBuild, build_monitoring
from targets import SparkProject, read_table

pytestmark = pytest.mark.spark

TOLERANCE = 1e-9
# Columns that hold the time dbt ran, different between two runs by construction.
RUN_TIME_COLUMNS = {"run_started_at", "monitored_at"}


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> MonitoringBuild:
    root = tmp_path_factory.mktemp("monitoring_duckdb")
    return build_monitoring(make_project(root, root / "raw"))


def compare_tables(duck: pd.DataFrame, spark: pd.DataFrame, name: str) -> list[str]:
    """Every column of one monitoring table: numbers within TOLERANCE, the rest exactly,
    rows matched by sorting on every column."""
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
    problems = []
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


def test_monitoring_on_spark_equals_monitoring_on_duckdb(
    monitoring_build: MonitoringBuild, duckdb_build: MonitoringBuild
) -> None:
    spark_build = monitoring_build
    assert isinstance(spark_build.project, SparkProject)
    for step in ("reference_profile", "monitor"):
        duck, spark = getattr(duckdb_build, step), getattr(spark_build, step)
        assert set(duck) == set(spark), f"{step}: nodes on one engine only"
        differ = {uid: (duck[uid], spark[uid]) for uid in duck if duck[uid] != spark[uid]}
        assert differ == {}, f"{step}: (duckdb, spark) outcomes differ"
    assert sum(uid.startswith("unit_test.") for uid in spark_build.monitor) >= 5
    problems, cells = [], 0
    for suffix, name in [("ml", "ml_reference_profile")] + [
        ("monitoring", table) for table in MONITORING_TABLES
    ]:
        duck = read_table(duckdb_build.project, suffix, name)
        spark = read_table(spark_build.project, suffix, name)
        assert len(duck) > 0, f"{name} is empty on DuckDB"
        cells += duck.size
        problems.extend(compare_tables(duck, spark, name))
    assert problems == [], f"{len(problems)} differences in {cells} cells"
