"""The real dbt project on an isolated state (raw data, DuckDB file, target folder, MLflow store):
what the integration and reliability suites drive. Fixtures live in conftest.py."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = str(Path(sys.executable).with_name("dbt"))
CLAIMS_FRAUD = str(Path(sys.executable).with_name("claims-fraud"))
TEST_LINES = 40_000
TEST_SEED = 7


@dataclass(frozen=True)
class DbtProject:
    """One isolated copy of the project's state: raw data, DuckDB file, target folder, MLflow."""

    raw_dir: Path
    duckdb_path: Path
    target_dir: Path
    env: dict[str, str]

    @property
    def mlflow_dir(self) -> Path:
        return Path(self.env["CLAIMS_FRAUD_MLFLOW_DIR"])

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real dbt CLI against this state; fail the test with dbt's output on error."""
        result = subprocess.run(
            [DBT, *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"dbt {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]

    def run_results(self, kept: str | None = None) -> dict:
        """The last dbt command's run_results.json, or the copy `keep_run_results(kept)` made.

        Session fixtures share one target folder, so a later dbt command (the training job,
        scoring) overwrites run_results.json: tests about one build read a kept copy."""
        name = "run_results.json" if kept is None else f"run_results.{kept}.json"
        return json.loads((self.target_dir / name).read_text())

    def keep_run_results(self, name: str) -> None:
        shutil.copyfile(
            self.target_dir / "run_results.json", self.target_dir / f"run_results.{name}.json"
        )


def make_project(root: Path, raw_dir: Path) -> DbtProject:
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT / "profiles"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET": "local",
        "CLAIMS_FRAUD_RAW_DIR": str(raw_dir),
        "CLAIMS_FRAUD_DUCKDB_PATH": str(root / "claims_fraud.duckdb"),
        "CLAIMS_FRAUD_MEMORY_LIMIT": "2GB",
        "CLAIMS_FRAUD_MLFLOW_DIR": str(root / "mlflow"),
    }
    return DbtProject(raw_dir, root / "claims_fraud.duckdb", root / "target", env)


def run_bundle_job(project: DbtProject, job: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`claims-fraud bundle run JOB` for real: the task graph of resources/ on this state."""
    return subprocess.run(
        [CLAIMS_FRAUD, "bundle", "run", job, "--project-dir", str(PROJECT_ROOT), *args],
        cwd=PROJECT_ROOT,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def copy_trained_state(project: DbtProject, root: Path, raw_dir: Path | None = None) -> DbtProject:
    """The project's DuckDB file and MLflow store under `root` (raw data shared, read only).

    MLflow's sqlite store keeps absolute artifact locations, so a plain copy of the folder still
    loads every model from the original: the copy's locations are moved to the copy, and
    deleting or corrupting a copied artifact breaks the copy alone."""
    copy = make_project(root, raw_dir or project.raw_dir)
    shutil.copy(project.duckdb_path, copy.duckdb_path)
    copy_mlflow_store(project.mlflow_dir, copy.mlflow_dir)
    return copy


def copy_mlflow_store(source: Path, target: Path) -> None:
    """Copy an MLflow folder (sqlite store + artifacts) and point the copy at its own artifacts."""
    source, target = source.resolve(), target.resolve()
    shutil.copytree(source, target)
    with closing(sqlite3.connect(target / "mlflow.db")) as con, con:
        tables = con.execute("select name from sqlite_master where type = 'table'").fetchall()
        for (table,) in tables:
            for column in [row[1] for row in con.execute(f'pragma table_info("{table}")')]:
                con.execute(
                    f'update "{table}" set "{column}" = replace("{column}", ?, ?) '
                    f'where typeof("{column}") = \'text\' and instr("{column}", ?) > 0',
                    (str(source), str(target), str(source)),
                )
