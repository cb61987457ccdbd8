"""The bundle's local runner (`claims-fraud bundle run`), no dbt run: it walks the job graph in
order with local arguments, condition tasks and run_job tasks (a stand-in runner records the
commands), and shows (a digest), keeps (task logs, timings) what each task printed. The bundle's
validation is test_bundle.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from claims_fraud.cli.main import main
from claims_fraud.deploy import bundle, graph
from claims_fraud.deploy.task_values import write_task_values

# the job parameters' defaults, as the dbt tasks pass them (resources/*.job.yml)
SCORING_VARS = (
    ' --vars \'{scoring_batch_id: "all_claims", scoring_window_start: "", '
    'scoring_window_end: "", scoring_batch_days: "0", monitoring_as_of: ""}\''
)
TRAINING_VARS = ' --vars \'{training_cutoff: "", training_warmup_days: "0"}\''
ROOT = Path(__file__).resolve().parents[2]
PIPELINE_ORDER = [
    "dbt_features",
    "dbt_score",
    "dbt_monitor",
    "alerts",
    "report",
    "retrain_needed",
    "retrain",
]


def test_task_order_follows_dependencies() -> None:
    job = bundle.jobs(bundle.load_bundle(ROOT, "dev"))["claims_fraud_pipeline"]
    assert bundle.task_order(job) == PIPELINE_ORDER


def test_dry_run_prints_local_commands_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bundle",
            "run",
            "claims_fraud_pipeline",
            "--dry-run",
            "--target",
            "prod",
            "--project-dir",
            str(ROOT),
            "--duckdb",
            "/tmp/state/claims.duckdb",  # noqa: S108 (never opened: dry run)
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "[1/7 dbt_features] dbt build --selector features "
        "--exclude-resource-type unit_test --target local",
        "[2/7 dbt_score] dbt build --selector score "
        f"--exclude-resource-type unit_test{SCORING_VARS} --target local",
        "[3/7 dbt_monitor] dbt build --selector monitor "
        f"--exclude-resource-type unit_test{SCORING_VARS} --target local",
        "[4/7 alerts] claims-fraud alerts --duckdb /tmp/state/claims.duckdb --retrain task-value",
        "[5/7 report] claims-fraud report --duckdb /tmp/state/claims.duckdb "
        "--out /tmp/state/monitoring_report.html",
        "[6/7 retrain_needed] condition {{tasks.alerts.values.retrain}} EQUAL_TO true",
        "[7/7 retrain] run job claims_fraud_training "
        "(trigger=drift, batch_id={{tasks.alerts.values.batch_id}})",
        "    [1/2 dbt_train] dbt build --selector train "
        f"--exclude-resource-type unit_test{TRAINING_VARS} --target local",
        "    [2/2 promote] claims-fraud promote --duckdb /tmp/state/claims.duckdb",
    ]


def test_dry_run_without_dbt_profiles_dir_passes_the_task_profiles_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("CLAIMS_FRAUD_DUCKDB_PATH", raising=False)
    args = ["bundle", "run", "claims_fraud_training", "--dry-run", "--project-dir", str(ROOT)]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "[1/2 dbt_train] dbt build --selector train "
        f"--exclude-resource-type unit_test{TRAINING_VARS} --target local --profiles-dir profiles",
        "[2/2 promote] claims-fraud promote",
    ]


def test_only_runs_the_named_tasks_and_numbers_them(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bundle", "run", "claims_fraud_pipeline", "--dry-run", "--project-dir", str(ROOT)]
    assert main([*args, "--only", "dbt_score"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "claims_fraud_pipeline: not run (--skip/--only), counted as done: dbt_features, "
        "dbt_monitor, alerts, report, retrain_needed, retrain",
        "[1/1 dbt_score] dbt build --selector score "
        f"--exclude-resource-type unit_test{SCORING_VARS} --target local",
    ]
    assert main([*args, "--only", "dbt_scor"]) == 2
    assert "job claims_fraud_pipeline has no such task" in capsys.readouterr().err


def test_run_of_an_unknown_job_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "run", "nightly", "--dry-run", "--project-dir", str(ROOT)]) == 2
    assert "no job 'nightly'" in capsys.readouterr().out


@pytest.fixture(autouse=True)
def _makefile_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the environment `make` exports, not the caller's."""
    monkeypatch.setenv("DBT_PROFILES_DIR", str(ROOT / "profiles"))
    monkeypatch.delenv("CLAIMS_FRAUD_DUCKDB_PATH", raising=False)


def _run_with(
    key: str,
    failing: set[str],
    tmp_path: Path,
    values: dict | None = None,
) -> tuple[int, list[str], list[str], list[bundle.TaskResult]]:
    """Run job ``key`` with a stand-in runner: a command fails when it names one of ``failing``;
    the alerts task sets ``values`` as the real CLI would (its task values file)."""
    settings = bundle.LocalSettings(local_dir=tmp_path)
    all_jobs = bundle.jobs(bundle.load_bundle(ROOT, "dev"))
    ran: list[str] = []
    lines: list[str] = []
    results: list[bundle.TaskResult] = []

    def runner(argv: list[str]) -> int:
        ran.append(" ".join(argv[:4]))
        if argv[1:2] == ["alerts"] and values is not None:
            path = settings.task_values_path("claims_fraud_pipeline", "alerts")
            write_task_values(path, values)
        return 1 if any(name in argv for name in failing) else 0

    code = bundle.run_job(
        all_jobs[key],
        settings,
        runner=runner,
        echo=lines.append,
        key=key,
        bundle_jobs=all_jobs,
        results=results,
    )
    return code, ran, lines, results


PIPELINE_COMMANDS = [
    "dbt build --selector features",
    "dbt build --selector score",
    "dbt build --selector monitor",
    "claims-fraud alerts --retrain task-value",
    "claims-fraud report --out " + "{out}",
]


def test_monitoring_failure_still_runs_alerts_and_report_then_fails(tmp_path: Path) -> None:
    values = {"retrain": False, "batch_id": "b1"}
    code, ran, lines, _ = _run_with("claims_fraud_pipeline", {"monitor"}, tmp_path, values)
    assert code == 1
    assert ran == [c.format(out=tmp_path / "monitoring_report.html") for c in PIPELINE_COMMANDS]
    assert lines[0] == "claims_fraud_pipeline: 7 task(s)"
    assert lines[-1].startswith("claims_fraud_pipeline: finished in ")
    assert lines[-1].endswith(" s; tasks not successful: dbt_monitor")


def test_failure_skips_all_success_dependents(tmp_path: Path) -> None:
    code, ran, lines, _ = _run_with("claims_fraud_pipeline", {"features"}, tmp_path)
    assert code == 1
    # score and monitor wait for success; alerts and report (ALL_DONE) still run.
    assert ran == [
        "dbt build --selector features",
        "claims-fraud alerts --retrain task-value",
        f"claims-fraud report --out {tmp_path / 'monitoring_report.html'}",
    ]
    assert "[2/7 dbt_score] skipped: run_if ALL_SUCCESS; dependencies: failed" in lines
    # alerts set no value (its stand-in wrote none): the condition fails and says why
    assert any(
        line.startswith("[6/7 retrain_needed] condition")
        and "task alerts set no value 'retrain' in this run" in line
        for line in lines
    ), lines


def test_drift_runs_the_training_job_through_the_condition(tmp_path: Path) -> None:
    values = {"retrain": True, "batch_id": "b7"}
    code, ran, lines, results = _run_with("claims_fraud_pipeline", set(), tmp_path, values)
    assert code == 0
    assert ran[-2:] == ["dbt build --selector train", "claims-fraud promote"]
    assert "[7/7 retrain] run job claims_fraud_training (trigger=drift, batch_id=b7)" in lines
    assert any(
        line.startswith("[6/7 retrain_needed] condition") and "-> true" in line for line in lines
    )
    states = {(r.job, r.task_key): r.state for r in results}
    assert states[("claims_fraud_training", "promote")] == "success"
    assert states[("claims_fraud_pipeline", "retrain")] == "success"
    assert all(r.seconds >= 0 for r in results)


def test_no_drift_excludes_the_retrain_branch_and_succeeds(tmp_path: Path) -> None:
    values = {"retrain": False, "batch_id": "b7"}
    code, ran, lines, results = _run_with("claims_fraud_pipeline", set(), tmp_path, values)
    assert code == 0
    assert "dbt build --selector train" not in ran
    assert "[7/7 retrain] excluded: retrain_needed is false, this branch needs true" in lines
    assert {r.task_key: r.state for r in results}["retrain"] == "excluded"
    assert lines[-1].endswith(", every task successful (1 excluded)")


def test_a_stale_task_value_from_an_earlier_run_is_not_read(tmp_path: Path) -> None:
    settings = bundle.LocalSettings(local_dir=tmp_path)
    stale = settings.task_values_path("claims_fraud_pipeline", "alerts")
    write_task_values(stale, {"retrain": True, "batch_id": "old"})
    code, ran, _, _ = _run_with("claims_fraud_pipeline", set(), tmp_path, values=None)
    assert code == 1  # the condition has no value of this run to read
    assert "dbt build --selector train" not in ran


def test_successful_run_exits_zero(tmp_path: Path) -> None:
    code, ran, lines, results = _run_with("claims_fraud_training", set(), tmp_path)
    assert code == 0
    assert ran == ["dbt build --selector train", "claims-fraud promote"]
    assert [r.task_key for r in results] == ["dbt_train", "promote"]
    assert any(line.startswith("[2/2 promote] success in ") for line in lines), lines


def test_local_argument_translation() -> None:
    settings = bundle.LocalSettings(duckdb=Path("w.duckdb"), local_dir=Path("out"))
    command = "dbt build --selector score --exclude-resource-type unit_test --target=prod"
    assert bundle.local_dbt_args(command) == [
        "dbt",
        "build",
        "--selector",
        "score",
        "--exclude-resource-type",
        "unit_test",
        "--target",
        "local",
    ]
    assert bundle.local_cli_args(["alerts", "--retrain", "task-value"], settings) == [
        "alerts",
        "--duckdb",
        "w.duckdb",
        "--retrain",
        "task-value",
    ]
    assert bundle.local_cli_args(["report", "--out", "/Volumes/c/s/v/r.html"], settings) == [
        "report",
        "--duckdb",
        "w.duckdb",
        "--out",
        "out/r.html",
    ]


# --- what the runner shows and keeps ------------------------------------------------------------

DBT_LINES = [
    "\x1b[0m17:07:21  Running with dbt=1.11.16",
    "\x1b[0m17:07:22  7 of 119 PASS source_not_null_x ........ [\x1b[32mPASS\x1b[0m in 0.12s]",
    "\x1b[0m17:07:22  8 of 119 WARN 24 source_not_null_claims_claim_id ..... "
    "[\x1b[33mWARN 24\x1b[0m in 0.13s]",
    "\x1b[0m17:10:50  12 of 22 ERROR creating python incremental model main_ml.fraud_scores  "
    "[ERROR in 3.2s]",
    "\x1b[0m17:10:51  Completed with 1 error, 1 warning:",
    "\x1b[0m17:10:51  ",
    "\x1b[0m17:10:51    Runtime Error in model fraud_scores (models/ml/fraud_scores.py)",
    "\x1b[0m17:10:51    BrokenModelError: @champion v2 is broken: run make run TRAIN=1",
    "\x1b[0m17:10:51    compiled code at target/compiled/x.sql",
    "\x1b[0m17:10:51  Done. PASS=60 WARN=1 ERROR=1 SKIP=0 NO-OP=2 TOTAL=64",
]


def test_the_dbt_digest_keeps_warnings_errors_and_the_totals() -> None:
    from claims_fraud.deploy.run_output import DbtDigest

    digest = DbtDigest()
    shown = [line for line in map(digest, DBT_LINES) if line is not None]
    assert shown == [
        "WARN 24 source_not_null_claims_claim_id",
        "ERROR creating python incremental model main_ml.fraud_scores",
        "Completed with 1 error, 1 warning:",
        "  Runtime Error in model fraud_scores (models/ml/fraud_scores.py)",
        "  BrokenModelError: @champion v2 is broken: run make run TRAIN=1",
        "Done. PASS=60 WARN=1 ERROR=1 SKIP=0 NO-OP=2 TOTAL=64",
    ]


def test_a_task_output_goes_to_its_log_and_stdout_to_the_digest(tmp_path: Path) -> None:
    import os
    import sys

    from claims_fraud.deploy.run_output import stream

    script = "import sys; print('one'); print('warning: noise', file=sys.stderr); print('two')"
    lines: list[str] = []
    log = tmp_path / "logs" / "job" / "task.log"
    code, tail = stream(
        [sys.executable, "-c", script + "; sys.exit(4)"],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=log,
        on_line=lines.append,
    )
    assert (code, lines, tail) == (4, ["one", "two"], ["warning: noise"])
    text = log.read_text()
    assert "one" in text
    assert "warning: noise" in text


def test_timings_are_appended_per_run_and_read_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "logs" / "timings.json"
    first = [bundle.TaskResult("claims_fraud_training", "dbt_train", "success", 41.2, "a.log")]
    bundle.record_run(path, "claims_fraud_training", datetime(2026, 1, 1, tzinfo=UTC), first)
    second = [bundle.TaskResult("claims_fraud_pipeline", "dbt_score", "failed", 3.5)]
    bundle.record_run(path, "claims_fraud_pipeline", datetime(2026, 1, 1, tzinfo=UTC), second)
    runs = bundle.read_runs(path)
    assert [run["job"] for run in runs] == ["claims_fraud_training", "claims_fraud_pipeline"]
    assert runs[1]["tasks"] == [
        {
            "job": "claims_fraud_pipeline",
            "task_key": "dbt_score",
            "state": "failed",
            "seconds": 3.5,
            "log": None,
        }
    ]
    assert bundle.read_runs(tmp_path / "absent.json") == []


def test_a_failed_alerts_task_still_hands_its_retrain_value_to_the_condition(
    tmp_path: Path,
) -> None:
    # alerts exits 1 on a PSI error after setting retrain=true: the condition (ALL_DONE) reads
    # it and the training job runs, as on Databricks
    values = {"retrain": True, "batch_id": "week-2025-12-22"}
    code, ran, lines, _ = _run_with("claims_fraud_pipeline", {"alerts"}, tmp_path, values)
    assert code == 1  # the alerts task did fail
    assert ran[-2:] == ["dbt build --selector train", "claims-fraud promote"]
    assert any(
        line.startswith("[6/7 retrain_needed] condition") and "-> true" in line for line in lines
    ), lines


def test_job_parameters_reach_the_dbt_commands_as_one_argument_each(tmp_path: Path) -> None:
    settings = bundle.LocalSettings(local_dir=tmp_path)
    all_jobs = bundle.jobs(bundle.load_bundle(ROOT, "dev"))
    seen: list[list[str]] = []

    def runner(argv: list[str]) -> int:
        seen.append(list(argv))
        return 0

    parameters = {
        "scoring_batch_id": "week",
        "scoring_window_start": "2025-09-29",
        "scoring_window_end": "2025-12-29",
        "scoring_batch_days": "7",
        "monitoring_as_of": "2025-12-29",
    }
    code = bundle.run_job(
        all_jobs["claims_fraud_pipeline"],
        settings,
        runner=runner,
        echo=lambda line: None,
        key="claims_fraud_pipeline",
        bundle_jobs=all_jobs,
        only=["dbt_score", "dbt_monitor"],
        parameters=parameters,
    )
    assert code == 0
    for argv in seen:
        vars_text = argv[argv.index("--vars") + 1]
        assert yaml.safe_load(vars_text) == parameters
    # the defaults: one batch, all_claims, unbounded
    assert graph.job_parameters(all_jobs["claims_fraud_pipeline"]) == {
        "scoring_batch_id": "all_claims",
        "scoring_window_start": "",
        "scoring_window_end": "",
        "scoring_batch_days": "0",
        "monitoring_as_of": "",
    }


def test_an_unknown_job_parameter_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bundle", "run", "claims_fraud_pipeline", "--dry-run", "--project-dir", str(ROOT)]
    assert main([*args, "--params", "scoring_batch_dayz=7"]) != 0
    assert "has no such parameter" in capsys.readouterr().err
