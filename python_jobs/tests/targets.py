"""The dbt project on the engine that pytest's ``--target`` names (conftest.py).

``local`` (default) is harness.DbtProject: a DuckDB file, dbt in the worker's dbt server.
``spark`` is a SparkProject: dbt-spark's session method on one local Spark session per pytest
session. dbt runs in the test process itself there, where dbt-spark's
``SparkSession.builder.getOrCreate()`` finds the session the suite opened with the profile's
settings: the tests, dbt and the Python models then share one warehouse and one embedded Derby
metastore (which admits a single JVM), and the JVM starts once. `make test-spark` runs without
pytest-xdist for that reason.

Both projects answer ``dbt(...)``, ``run_results(...)``, ``keep_run_results(...)``, ``env``,
``root`` and ``mlflow_dir``; ``read_table`` and ``write_tables`` below read and write a table
of either, so a test marked ``portable`` runs unchanged on both.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dbt_env import PROJECT_ROOT, dbt_env, spark_settings
from harness import DbtProject, without_unit_tests

RAW_SCHEMA = "raw_claims"  # dbt_project.yml's var raw_schema: where the Spark sources are
RAW_TABLES = ("medical_claim", "eligibility", "provider", "siu_investigation", "fraud_ground_truth")
SPARK_SCHEMA = "claims_fraud"  # the profile's default schema on the spark target
# Settings of the suite's session beyond the profile's (display only: no console progress bar).
SESSION_EXTRA = {"spark.ui.showConsoleProgress": "false"}


def run_dbt_in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One dbt command through dbtRunner in this process, under ``env`` (restored after), with
    the CLI's exit codes: 0 success, 1 a node or test failed, 2 dbt could not run."""
    from dbt.cli.main import dbtRunner

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(PROJECT_ROOT)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            result = dbtRunner().invoke(list(args))
        returncode = 0 if result.success else (2 if result.exception is not None else 1)
        if result.exception is not None:
            err.write(f"dbt raised: {result.exception!r}\n")
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(["dbt", *args], returncode, out.getvalue(), err.getvalue())


@dataclass
class SparkTarget:
    """The pytest session's Spark: its folder (warehouse, Derby metastore) and session."""

    spark_dir: Path
    session: Any  # pyspark.sql.SparkSession, imported only on this target

    @classmethod
    def start(cls, spark_dir: Path) -> SparkTarget:
        if shutil.which("java") is None:
            raise RuntimeError("Java is not on PATH: --target spark needs a JDK 17 (pyspark 4)")
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName("claims_fraud_tests").enableHiveSupport()
        for key, value in {**spark_settings(spark_dir), **SESSION_EXTRA}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return cls(spark_dir, session)

    def stop(self) -> None:
        self.session.stop()

    def register_raw(self, raw_dir: Path) -> dict[str, int]:
        """The generated Parquet files as tables ``raw_claims.<table>`` (the sources on Spark);
        their row counts. A metastore table's location is a folder: one per table."""
        self.session.sql(f"create database if not exists {RAW_SCHEMA}")
        counts = {}
        for table in RAW_TABLES:
            folder = self.spark_dir / "raw_tables" / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            shutil.copyfile(raw_dir / f"{table}.parquet", folder / "part-0.parquet")
            self.session.sql(f"drop table if exists {RAW_SCHEMA}.{table}")
            self.session.sql(f"create table {RAW_SCHEMA}.{table} using parquet location '{folder}'")
            counts[table] = self.session.table(f"{RAW_SCHEMA}.{table}").count()
        return counts

    def project(self, root: Path, raw_dir: Path, schema: str = SPARK_SCHEMA) -> SparkProject:
        """An isolated dbt state under ``root`` whose models go to ``<schema>_<suffix>``."""
        root.mkdir(parents=True, exist_ok=True)
        env = dbt_env(
            root,
            "spark",
            raw_dir=raw_dir,
            mlflow_dir=root / "mlflow",
            spark_dir=self.spark_dir,
            spark_schema=schema,
        )
        return SparkProject(self, root, raw_dir, schema, env, root / "target")


@dataclass(frozen=True)
class SparkProject:
    """The dbt project on the session's Spark; the calls of harness.DbtProject that do not
    depend on the engine (no DuckDB SQL: ``read_table`` instead)."""

    spark: SparkTarget
    root: Path
    raw_dir: Path
    schema: str
    env: dict[str, str]
    target_dir: Path

    @property
    def mlflow_dir(self) -> Path:
        return Path(self.env["CLAIMS_FRAUD_MLFLOW_DIR"])

    def dbt(
        self, *args: str, check: bool = True, unit_tests: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """A real dbt command on this state; fails the test with dbt's output on error. A
        `build` leaves the unit tests out unless ``unit_tests`` (harness.without_unit_tests)."""
        import pytest

        args = without_unit_tests(args, unit_tests)
        result = run_dbt_in_process(list(args), self.env)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        (self.root / "logs" / "last_command.txt").write_text(result.stdout + result.stderr)
        if check and result.returncode != 0:
            pytest.fail(
                f"dbt {' '.join(args)} --target spark failed (logs under {self.root / 'logs'}):"
                f"\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def run_results(self, kept: str | None = None) -> dict:
        name = "run_results.json" if kept is None else f"run_results.{kept}.json"
        return json.loads((self.target_dir / name).read_text())

    def keep_run_results(self, name: str) -> None:
        shutil.copyfile(
            self.target_dir / "run_results.json", self.target_dir / f"run_results.{name}.json"
        )


Project = DbtProject | SparkProject


def schema_of(project: Project, suffix: str) -> str:
    """Where dbt puts the models of a folder with ``+schema: suffix`` on the project's target."""
    if isinstance(project, SparkProject):
        return f"{project.schema}_{suffix}"
    return f"main_{suffix}"


def read_table(project: Project, suffix: str, name: str) -> pd.DataFrame:
    """A table of either target as DuckDB's Parquet reader gives it (Spark writes the table to
    Parquet first), so the two targets' frames have the same dtypes."""
    if isinstance(project, SparkProject):
        folder = project.root / "read" / f"{suffix}.{name}"
        table = project.spark.session.table(f"{schema_of(project, suffix)}.{name}")
        table.coalesce(1).write.mode("overwrite").parquet(str(folder))
        with duckdb.connect() as con:
            return con.execute("select * from read_parquet(?)", [f"{folder}/*.parquet"]).df()
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(f"select * from {schema_of(project, suffix)}.{name}").df()


def write_tables(project: Project, tables: dict[tuple[str, str], pd.DataFrame]) -> None:
    """``{(suffix, name): frame}`` as tables where dbt's refs to those models resolve. DuckDB
    types the frames; Spark reads the Parquet files DuckDB writes of them, so both targets see
    the same column types."""
    if isinstance(project, SparkProject):
        folder = project.root / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        with duckdb.connect() as con:
            for (_, name), frame in tables.items():
                con.register("frame", frame)
                con.execute(f"copy frame to '{folder / name}.parquet' (format parquet)")
                con.unregister("frame")
        session = project.spark.session
        for suffix, name in tables:
            schema = schema_of(project, suffix)
            session.sql(f"create database if not exists {schema}")
            session.sql(f"drop table if exists {schema}.{name}")
            select = f"select * from parquet.`{folder / name}.parquet`"
            session.sql(f"create table {schema}.{name} using parquet as {select}")
        return
    with duckdb.connect(str(project.duckdb_path)) as con:
        for (suffix, name), frame in tables.items():
            schema = schema_of(project, suffix)
            con.execute(f"create schema if not exists {schema}")
            con.register("frame", frame)
            con.execute(f"create or replace table {schema}.{name} as select * from frame")
            con.unregister("frame")
