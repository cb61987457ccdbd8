"""`claims-fraud alerts` and `claims-fraud report`: what the monitoring tables say, told to
people (channels, mon_alerts, the HTML report), and the retraining that drift asks for."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from claims_fraud.cli.common import EXIT_OK, add_warehouse_arguments, fail, warehouse
from claims_fraud.warehouse import params

TRAINING_JOB = "claims_fraud_training"
# What `alerts --retrain task-value` hands to the pipeline's condition task.
TASK_VALUES = ("retrain", "batch_id")


def _add_batch_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch-id",
        type=params.argparse_type(params.batch_id, "--batch-id"),
        default=None,
        help="the batch to report (if not given: the latest monitored)",
    )


def add_alerts_arguments(parser: argparse.ArgumentParser) -> None:
    add_warehouse_arguments(parser)
    _add_batch_argument(parser)
    parser.add_argument(
        "--notify",
        action="append",
        default=None,
        metavar="URL",
        help="an apprise channel URL (slack://..., mailto://..., json://host/path); repeatable; "
        "if not given: $CLAIMS_FRAUD_ALERT_URLS, none = print only. An unknown scheme or a "
        "malformed URL is refused (exit 2) before anything is read or sent",
    )
    parser.add_argument(
        "--retrain",
        choices=("local", "task-value", "off"),
        default=os.environ.get("CLAIMS_FRAUD_RETRAIN", "local"),
        help="when a PSI is at error: local = run the bundle's training job here (`claims-fraud "
        "bundle run claims_fraud_training`); task-value = set the task values retrain and "
        "batch_id for the job's condition task, which starts the training job (what the "
        "bundle's pipeline does, on Databricks and locally); off = only report "
        "($CLAIMS_FRAUD_RETRAIN)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path(os.environ.get("DBT_PROJECT_DIR", ".")),
        help="the project whose training job --retrain local runs ($DBT_PROJECT_DIR)",
    )


def alerts_task_values(args: argparse.Namespace) -> Sequence[str]:
    """The task values this command line sets (for the bundle's condition-task checks)."""
    return TASK_VALUES if args.retrain == "task-value" else ()


def _local_training_run(args: argparse.Namespace):
    """A retrainer that runs the bundle's training job on this state (DuckDB file, MLflow)."""
    from claims_fraud.monitoring import alerts

    command = [str(Path(sys.executable).with_name("claims-fraud")), "bundle", "run", TRAINING_JOB]
    command += ["--project-dir", str(args.project_dir)]
    env = {**os.environ, "CLAIMS_FRAUD_DUCKDB_PATH": str(args.duckdb.resolve())}
    if args.mlflow_dir:
        env["CLAIMS_FRAUD_MLFLOW_DIR"] = str(args.mlflow_dir.resolve())
    return alerts.local_retrainer(command, cwd=args.project_dir, env=env)


def run_alerts(args: argparse.Namespace) -> int:
    from claims_fraud.monitoring import alerts

    urls = alerts.channel_urls(args.notify)
    try:  # before the warehouse: a bad URL costs no read, no Spark session, no delivery
        alerts.check_channels(urls, "--notify" if args.notify else "$CLAIMS_FRAUD_ALERT_URLS")
    except alerts.ChannelConfigError as exc:
        return fail("alerts", exc, alerts.EXIT_REFUSED)
    retrainer = None
    if args.retrain == "local":
        retrainer = _local_training_run(args)
    elif args.retrain == "task-value":
        retrainer = alerts.job_retrainer(TRAINING_JOB)
    try:
        run = alerts.run_alerts(
            warehouse(args, "monitoring"), urls, retrainer, batch_id=args.batch_id
        )
    except alerts.MonitoringNotRunError as exc:
        return fail("alerts", exc, alerts.EXIT_REFUSED)
    print(alerts.describe(run))
    if args.retrain == "task-value":
        from claims_fraud.deploy.task_values import set_task_values

        values = {"retrain": run.batch.needs_retraining, "batch_id": run.batch.batch_id}
        print(set_task_values(values))
    return run.exit_code


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    add_warehouse_arguments(parser)
    _add_batch_argument(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".local/monitoring_report.html"),
        help="where to write the self-contained HTML report",
    )


def run_report(args: argparse.Namespace) -> int:
    from claims_fraud.monitoring.report import load_report_data, write_report
    from claims_fraud.warehouse.connections import TableNotFoundError

    try:
        data = load_report_data(warehouse(args, "monitoring"))
        path = write_report(data, args.out, batch_id=args.batch_id)
    except (TableNotFoundError, ValueError) as exc:
        return fail("report", exc)
    print(f"monitoring report: {path.resolve()}")
    return EXIT_OK
