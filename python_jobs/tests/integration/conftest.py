"""Fixtures that generate a small claims dataset and run the real dbt project on DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from claims_fraud.cli import main as cli_main

PROJECT_ROOT = Path(__file__).resolve().parents[3]
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


@pytest.fixture(scope="session")
def raw_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated Tuva-shaped dataset (Parquet + manifest), shared by the integration tests."""
    out = tmp_path_factory.mktemp("raw")
    exit_code = cli_main(
        [
            "generate",
            "--lines",
            str(TEST_LINES),
            "--seed",
            str(TEST_SEED),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert exit_code in (0, None)
    return out


@pytest.fixture(scope="session")
def manifest(raw_dataset: Path) -> dict:
    return json.loads((raw_dataset / "_manifest.json").read_text())


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory, raw_dataset: Path) -> DbtProject:
    """`dbt build --selector features` run once for real on a fresh DuckDB file."""
    project = make_project(tmp_path_factory.mktemp("dbt"), raw_dataset)
    project.dbt("build", "--selector", "features")
    project.keep_run_results("features")
    return project


@pytest.fixture
def copy_raw(tmp_path: Path, raw_dataset: Path) -> Callable[[], Path]:
    """A private copy of the raw dataset that a test may break."""

    def _copy() -> Path:
        target = tmp_path / "raw"
        shutil.copytree(raw_dataset, target)
        return target

    return _copy


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


@pytest.fixture(scope="session")
def trained_project(built_project: DbtProject) -> DbtProject:
    """The built project after the bundle's training job (`dbt build --selector train`, then
    `claims-fraud promote`) and `dbt build --selector score`: what `make run` does first."""
    result = run_bundle_job(built_project, "claims_fraud_training")
    if result.returncode != 0:
        pytest.fail(f"bundle run claims_fraud_training failed:\n{result.stdout}\n{result.stderr}")
    assert "[promote] success" in result.stdout, result.stdout
    built_project.dbt("build", "--selector", "score")
    return built_project
