"""The `claims-fraud` command line itself: help that shows an example and only real defaults, a
top level that loads no data library (the cause of a slow `--help`), library warnings routed to
a file, and the timing table `claims-fraud summary` prints."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from claims_fraud.cli.main import SUBCOMMANDS, build_parser, main

HEAVY = ("pandas", "numpy", "mlflow", "duckdb", "xgboost", "catboost", "pyarrow", "tqdm")


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _parsers(parser: argparse.ArgumentParser, path: str = "claims-fraud"):
    """Every parser under ``parser`` (subcommands and their actions), with its command line."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_help_shows_an_example_and_no_empty_default() -> None:
    found = dict(_parsers(build_parser()))
    assert set(found) >= {f"claims-fraud {name}" for name in SUBCOMMANDS} | {
        "claims-fraud bundle run",
        "claims-fraud bundle validate",
    }
    for command, parser in found.items():
        text = parser.format_help()
        assert "\nexample" in text, command
        assert "  claims-fraud " in text.split("\nexample", 1)[1], command
        for empty in ("(default: None)", "(default: False)", "(default: [])"):
            assert empty not in text, (command, empty)


def test_version_and_help_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("claims-fraud ")
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "bundle" in capsys.readouterr().out


def test_the_top_level_loads_no_data_library() -> None:
    """What made `claims-fraud --help` take seconds: the generator, pandas, MLflow... imported
    at the top. Only the subcommand being run may load them."""
    code = (
        "import sys\n"
        "from claims_fraud.cli.main import main\n"
        "for argv in (['--help'], ['--version'], ['bundle', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(set({HEAVY!r}) & set(sys.modules)))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    # and the check can fail: running `generate --help` does load its module's numpy
    code = code.replace("['bundle', '--help']", "['generate', '--help']")
    assert "numpy" in _python(code).stdout.splitlines()[-1]


def test_library_warnings_go_to_the_file_the_runner_names(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "warnings.log"
    code = (
        "import logging, warnings\n"
        "import claims_fraud\n"
        "warnings.warn('an integer column cannot hold missing values', UserWarning)\n"
        "logging.getLogger('mlflow.utils.environment').warning('failed to resolve pip version')\n"
        "import os; print(os.environ.get('MLFLOW_CONFIGURE_LOGGING'))\n"
    )
    routed = _python(code, CLAIMS_FRAUD_WARNINGS_LOG=str(log))
    assert routed.returncode == 0, routed.stderr
    assert routed.stderr == ""
    assert routed.stdout.strip() == "false"  # MLflow will not put its own stderr handler back
    text = log.read_text()
    assert "UserWarning: an integer column cannot hold missing values" in text
    assert "WARNING mlflow.utils.environment: failed to resolve pip version" in text
    # unset, nothing changes: the warning is on stderr as usual
    plain = _python(code, CLAIMS_FRAUD_WARNINGS_LOG="")
    assert "an integer column cannot hold missing values" in plain.stderr


def test_summary_prints_the_task_timings_of_the_recorded_runs(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from claims_fraud.cli.summary import format_next_steps, format_timings
    from claims_fraud.deploy.run_output import TaskResult, read_runs, record_run

    path = tmp_path / "timings.json"
    results = [
        TaskResult("claims_fraud_pipeline", "dbt_features", "not run", 0.0),
        TaskResult("claims_fraud_pipeline", "dbt_score", "success", 12.25),
        TaskResult("claims_fraud_training", "dbt_train", "success", 40.0),
        TaskResult("claims_fraud_pipeline", "retrain", "success", 47.5),
    ]
    record_run(path, "claims_fraud_pipeline", datetime(2026, 1, 5, 6, tzinfo=UTC), results)
    text = format_timings(read_runs(path), path)
    lines = text.splitlines()
    assert f"Task timings ({path})" in lines
    assert "  claims_fraud_pipeline (2026-01-05T06:00:00+00:00)" in lines
    assert "  claims_fraud_training (started by claims_fraud_pipeline)" in lines
    assert any(line.split() == ["dbt_score", "12.2", "success"] for line in lines), text
    assert "dbt_features" not in text  # left out by --skip/--only: not a timing
    assert lines[-1].split() == ["total", "99.8"]
    assert "No task timings yet" in format_timings([], path)
    steps = format_next_steps(tmp_path / "monitoring_report.html", tmp_path / "logs")
    assert "(not written yet)" in steps
    assert "make mlflow-ui" in steps
    assert "make docs" in steps


def test_summary_shows_one_line_of_verdicts_per_monitored_batch(tmp_path: Path) -> None:
    """The weekly batches in window order, each with its worst PSI, disparate impact counts
    and estimated / realized precision; nothing before monitoring ran."""
    from datetime import datetime

    import duckdb

    from claims_fraud.cli.summary import collect_monitoring_timeline, format_monitoring_timeline

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    assert collect_monitoring_timeline(path) == []  # before monitoring ran
    with duckdb.connect(str(path)) as con:
        con.execute("create schema main_monitoring")
        con.execute(
            "create table main_monitoring.mon_batches as select * from (values "
            "('week-2025-10-06', timestamp '2025-10-06', 700), "
            "('week-2025-09-29', timestamp '2025-09-29', 716)) t(batch_id, window_start, n_claims)"
        )
        con.execute(
            "create table main_monitoring.mon_feature_psi as select * from (values "
            "('week-2025-09-29', 'total_charge_amount', 0.02, 'ok'), "
            "('week-2025-10-06', 'total_charge_amount', 0.31, 'error'), "
            "('week-2025-10-06', 'claim_type', 0.12, 'warn')) "
            "t(batch_id, feature_name, psi, status)"
        )
        con.execute(
            "create table main_monitoring.mon_disparate_impact as select * from (values "
            "('week-2025-10-06', 'fail'), ('week-2025-10-06', 'warn_not_significant'), "
            "('week-2025-09-29', 'pass')) t(batch_id, status)"
        )
        con.execute(
            "create table main_monitoring.mon_model_performance as select * from (values "
            "('week-2025-09-29', 36, 0.91, 0.5, 2, 'insufficient_data'), "
            "('week-2025-10-06', 30, 0.88, null, 0, 'insufficient_data')) "
            "t(batch_id, n_flagged, expected_precision, realized_precision, "
            "n_labelled_flagged, status)"
        )
    batches = collect_monitoring_timeline(path)
    assert [b.batch_id for b in batches] == ["week-2025-09-29", "week-2025-10-06"]
    assert batches[0].window_start == datetime(2025, 9, 29)
    text = format_monitoring_timeline(batches)
    lines = text.splitlines()
    assert "Monitoring over time (2 batch(es)" in lines[1]
    first, second = lines[3].split(), lines[4].split()
    assert first[:3] == ["week-2025-09-29", "716", "36"]
    assert "ok 0.020 total_charge_amount" in lines[3]
    assert "0.91 / 0.50 (2)" in lines[3]
    assert second[:3] == ["week-2025-10-06", "700", "30"]
    assert "error 0.310 total_charge_amount" in lines[4]  # the worst verdict, not the first
    assert "1/1" in second  # one DI fail, one warning
    assert "0.88 / - (0)" in lines[4]
    assert "No batch monitored yet" in format_monitoring_timeline([])
