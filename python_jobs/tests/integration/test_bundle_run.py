"""The bundle's pipeline job run for real on the local target: the task graph of resources/
drives dbt and the package's entry points, so a renamed selector, a wrong entry point or a
broken depends_on fails here and not in a production run."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness import PROJECT_ROOT, DbtProject, make_project, run_bundle_job

from claims_fraud.deploy.bundle import jobs, load_bundle, task_order


def test_pipeline_job_runs_every_task_in_order_on_duckdb(
    tmp_path: Path, trained_project: DbtProject
) -> None:
    project = make_project(tmp_path / "pipeline", trained_project.raw_dir)
    shutil.copy(trained_project.duckdb_path, project.duckdb_path)
    shutil.copytree(trained_project.mlflow_dir, project.mlflow_dir)
    local_dir = tmp_path / "local"

    result = run_bundle_job(project, "claims_fraud_pipeline", "--local-dir", str(local_dir))

    job = jobs(load_bundle(PROJECT_ROOT))["claims_fraud_pipeline"]
    outcome = dict(
        line.lstrip("[").split("] ")
        for line in result.stdout.splitlines()
        if line.endswith(("] success", "] failed"))
    )
    log = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    # Every task ran, in the order depends_on gives, and only the verdict tasks may fail.
    assert list(outcome) == task_order(job), log
    assert {outcome[key] for key in ("dbt_features", "dbt_score", "report")} == {"success"}, log
    # The monitoring verdicts decide the rest: an error status fails the status tests
    # (dbt_monitor), and alerts exits 1 on it; alerts and report run either way (ALL_DONE).
    errors = project.scalar(
        "select count(*) from main_monitoring.mon_disparate_impact where status = 'fail'"
    ) + project.scalar(
        "select count(*) from main_monitoring.mon_feature_psi where status = 'error'"
    )
    expected = "failed" if errors else "success"
    assert (outcome["dbt_monitor"], outcome["alerts"]) == (expected, expected), log
    assert result.returncode == (1 if errors else 0), log
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
