"""The bundle's pipeline job run for real on the local target: the task graph of resources/
drives dbt and the package's entry points, so a renamed selector, a wrong entry point, a
broken depends_on or a condition reading a task value nobody sets fails here and not in a
production run. What the runner prints (one line per task with its seconds), keeps (task logs,
timings) and routes away from the terminal (library warnings) is checked on the same run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from harness import PROJECT_ROOT, DbtProject, make_project, run_bundle_job

from claims_fraud.deploy.bundle import jobs, load_bundle, task_order

# The whole job, every task in a process of its own (about a minute): make test-slow. make test
# keeps each task's own tests and the runner's (test_bundle_local_run.py, test_alert_delivery).
pytestmark = pytest.mark.slow


def test_pipeline_job_runs_every_task_in_order_on_duckdb(
    tmp_path: Path, trained_project: DbtProject
) -> None:
    project = make_project(tmp_path / "pipeline", trained_project.raw_dir)
    shutil.copy(trained_project.duckdb_path, project.duckdb_path)
    shutil.copytree(trained_project.mlflow_dir, project.mlflow_dir)
    local_dir = tmp_path / "local"

    result = run_bundle_job(project, "claims_fraud_pipeline", "--local-dir", str(local_dir))

    job = jobs(load_bundle(PROJECT_ROOT))["claims_fraud_pipeline"]
    finished = re.compile(r"^\[(\d+)/(\d+) (\w+)\] (success|failed) in \d+\.\d s")
    outcome = {}
    for line in result.stdout.splitlines():
        if found := finished.match(line):
            outcome[found.group(3)] = found.group(4)
            assert found.group(2) == "7", line
    log = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    # The monitoring verdicts decide the rest: an error status fails the status tests
    # (dbt_monitor), and alerts exits 1 on it; alerts and report run either way (ALL_DONE).
    errors = project.scalar(
        "select count(*) from main_monitoring.mon_disparate_impact where status = 'fail'"
    ) + project.scalar(
        "select count(*) from main_monitoring.mon_feature_psi where status = 'error'"
    )
    drift = project.scalar(
        "select count(*) from main_monitoring.mon_feature_psi where status = 'error'"
    )
    # Every task ran, in the order depends_on gives, and only the verdict tasks may fail; the
    # retrain branch runs only on drift (else it is excluded, which is no failure).
    ran = [key for key in task_order(job) if key != "retrain" or drift]
    assert list(outcome) == ran, log
    assert {outcome[key] for key in ("dbt_features", "dbt_score", "report")} == {"success"}, log
    expected = "failed" if errors else "success"
    assert (outcome["dbt_monitor"], outcome["alerts"]) == (expected, expected), log
    assert outcome["retrain_needed"] == "success", log
    if not drift:
        assert "[7/7 retrain] excluded: retrain_needed is false, this branch needs true" in log
    assert result.returncode == (1 if errors else 0), log
    # The terminal gets a digest, not dbt's node-by-node log nor library warnings; those are
    # in the task logs and the warnings file, and the timings are recorded.
    assert "START sql" not in result.stdout, log
    assert "UserWarning" not in result.stdout + result.stderr, log
    assert len(result.stdout.splitlines()) < 80, log
    features_log = local_dir / "logs" / "claims_fraud_pipeline" / "dbt_features.log"
    assert "START sql" in features_log.read_text()
    runs = json.loads((local_dir / "logs" / "timings.json").read_text())["runs"]
    timed = {task["task_key"]: task for task in runs[-1]["tasks"]}
    assert timed["dbt_score"]["state"] == "success"
    assert timed["dbt_score"]["seconds"] > 0
    values = json.loads(
        (local_dir / "task_values" / "claims_fraud_pipeline" / "alerts.json").read_text()
    )
    assert values["retrain"] is bool(drift)
    # What each task left behind, in the run's own DuckDB file and local folder.
    batches = project.query("select batch_id from main_monitoring.mon_batches")
    assert len(batches) == 1
    batch = batches[0][0]
    assert (
        project.scalar(
            f"select count(*) from main_monitoring.mon_feature_psi where batch_id = '{batch}'"
        )
        > 10
    )
    assert (
        project.scalar(
            f"select count(*) from main_monitoring.mon_alerts where batch_id = '{batch}'"
        )
        >= 1
    )
    report = local_dir / "monitoring_report.html"
    assert report.is_file()
    assert batch in report.read_text()
