"""A build killed mid-run (SIGKILL: an OOM kill, a preempted node, Ctrl-C twice) and then run
again leaves the same tables as a build that was never interrupted: nothing half-written is
kept, nothing is lost, nothing is duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from harness import DBT, DbtProject, copy_trained_state, make_project

# slow: each test makes a whole state of its own (make test-slow, run by .ci/run)
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _build_killed_at(project: DbtProject, marker: str, delay: float, *args: str) -> str:
    """Start `dbt build ARGS`, SIGKILL its process group `delay` seconds after a log line
    containing `marker`; return what it printed."""
    process = subprocess.Popen(
        [DBT, "build", *args],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    printed = []
    assert process.stdout is not None
    for line in process.stdout:
        printed.append(line)
        if marker in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=120)
    output = "".join(printed)
    assert process.returncode == -signal.SIGKILL, f"the build was not killed:\n{output}"
    return output


def _differences(project: DbtProject, reference: DbtProject, table: str, columns: str) -> int:
    """Rows of `table` in one database and not the other, both ways."""
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{reference.duckdb_path}' as reference (read_only)")
        return con.execute(
            f"""
            select count(*) from (
                (select {columns} from {table} except all
                 select {columns} from reference.{table})
                union all
                (select {columns} from reference.{table} except all
                 select {columns} from {table})
            )
            """
        ).fetchone()[0]


def test_features_build_killed_midway_then_rerun_equals_an_uninterrupted_build(
    tmp_path: Path, raw_dataset: Path, built_project: DbtProject
) -> None:
    project = make_project(tmp_path / "dbt", raw_dataset)
    _build_killed_at(
        project,
        "START sql incremental model main_features.fct_claim_features",
        0.3,
        "--selector",
        "features",
    )
    project.dbt("build", "--selector", "features")
    for table in (
        "main_features.fct_claim_features",
        "main_marts.claims_quarantine",
        "main_intermediate.int_claim_lines_validated",
    ):
        assert _differences(project, built_project, table, "*") == 0, table
    assert (
        project.scalar(
            "select count(*) from information_schema.tables where table_name like '%__dbt_tmp%'"
        )
        == 0
    )


def test_score_build_killed_midway_then_rerun_equals_an_uninterrupted_build(
    tmp_path: Path, trained_project: DbtProject
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    batch = json.dumps({"scoring_batch_id": "all_claims"})
    # killed while the fraud_scores Python model loads the champion and scores
    _build_killed_at(
        project,
        "START python incremental model main_ml.fraud_scores",
        2.0,
        "--selector",
        "score",
        "--vars",
        batch,
    )
    project.dbt("build", "--selector", "score", "--vars", batch)
    columns = "batch_id, claim_id, fraud_probability, anomaly_score, is_flagged, model_version"
    assert _differences(project, trained_project, "main_ml.fraud_scores", columns) == 0
    duplicated = project.scalar(
        "select count(*) from (select batch_id, claim_id from main_ml.fraud_scores "
        "group by batch_id, claim_id having count(*) > 1)"
    )
    assert duplicated == 0
