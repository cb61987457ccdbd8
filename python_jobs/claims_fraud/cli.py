"""``claims-fraud`` command line: one subcommand per job.

Add a subcommand by writing an ``_add_<name>_arguments(parser)`` function and a small
``_run_<name>(args) -> int`` handler, then registering both in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from tqdm import tqdm

from claims_fraud.generate import (
    AGE_GROUPS,
    BIAS_ATTRIBUTES,
    SCHEMES,
    FraudRates,
    GeneratorConfig,
    check_config_against_reference,
    run_generation,
)
from claims_fraud.reference import load_reference
from claims_fraud.summary import (
    collect_scoring_summary,
    collect_summary,
    format_scoring_summary,
    format_summary,
)

EXIT_OK = 0
EXIT_USAGE = 2


@dataclass(frozen=True)
class Subcommand:
    """A subcommand: its help line, how it adds its options, and the handler that runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class TqdmProgress:
    """Adapts a tqdm bar to the generator's progress protocol (expect / advance)."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar

    def expect(self, steps: int) -> None:
        self._bar.total = (self._bar.total or 0) + steps
        self._bar.refresh()

    def advance(self, label: str) -> None:
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.update(1)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from exc


def _fraud_rate(value: str) -> tuple[str, float]:
    name, _, rate = value.partition("=")
    if name not in SCHEMES or not rate:
        raise argparse.ArgumentTypeError(f"expected SCHEME=RATE with SCHEME in {SCHEMES}")
    try:
        return name, float(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {rate!r}") from exc


def _add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = GeneratorConfig(n_lines=1_000)
    parser.add_argument("--lines", type=int, required=True, help="claim lines to generate")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--start-date", type=_iso_date, default=defaults.start_date, help="first service date"
    )
    parser.add_argument(
        "--end-date", type=_iso_date, default=defaults.end_date, help="last service date"
    )
    parser.add_argument(
        "--malformed-rate",
        type=float,
        default=defaults.malformed_rate,
        help="share of lines corrupted, split evenly over the 12 malformed kinds",
    )
    parser.add_argument(
        "--fraud-rate",
        type=_fraud_rate,
        action="append",
        default=[],
        metavar="SCHEME=RATE",
        help=f"override one scheme's share of claims (repeatable); schemes: {', '.join(SCHEMES)}",
    )
    parser.add_argument(
        "--drift-start", type=_iso_date, default=None, help="claims from this date drift"
    )
    parser.add_argument(
        "--drift-strength",
        type=float,
        default=defaults.drift_strength,
        help="size of the shift (charge log-mean +0.3 x strength, telehealth, units)",
    )
    parser.add_argument(
        "--bias-attribute",
        choices=BIAS_ATTRIBUTES,
        default=None,
        help="member attribute whose group gets more fraud and higher charges",
    )
    parser.add_argument(
        "--bias-group",
        default=None,
        help=f"gender value, age group ({', '.join(AGE_GROUPS)}) or census region",
    )
    parser.add_argument(
        "--bias-factor",
        type=float,
        default=defaults.bias_factor,
        help="multiplier of upcoding/unbundling/excessive_units rates in the group",
    )
    parser.add_argument(
        "--seeds-dir",
        type=Path,
        default=None,
        help="reference seeds folder (None: seeds/ of the dbt project)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _generate_config(args: argparse.Namespace) -> GeneratorConfig:
    rates = replace(FraudRates(), **dict(args.fraud_rate)) if args.fraud_rate else FraudRates()
    return GeneratorConfig(
        n_lines=args.lines,
        seed=args.seed,
        start_date=args.start_date,
        end_date=args.end_date,
        malformed_rate=args.malformed_rate,
        fraud_rates=rates,
        drift_start=args.drift_start,
        drift_strength=args.drift_strength,
        bias_attribute=args.bias_attribute,
        bias_group=args.bias_group,
        bias_factor=args.bias_factor,
    )


def _run_generate(args: argparse.Namespace) -> int:
    try:
        config = _generate_config(args)
        reference = load_reference(args.seeds_dir)
        check_config_against_reference(config, reference)
    except (ValueError, FileNotFoundError) as exc:
        print(f"claims-fraud generate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with tqdm(total=0, disable=args.no_progress, unit="step", desc="generate") as bar:
        out = run_generation(config, args.out, reference, TqdmProgress(bar))
    if not args.no_progress:
        print(f"wrote {config.n_lines:,} claim lines to {out}", file=sys.stderr)
    return EXIT_OK


def _run_summary(args: argparse.Namespace) -> int:
    try:
        summary = collect_summary(args.duckdb)
    except (FileNotFoundError, LookupError) as exc:
        print(f"claims-fraud summary: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(format_summary(summary))
    print(format_scoring_summary(collect_scoring_summary(args.duckdb, args.mlflow_dir)))
    return EXIT_OK


def _add_warehouse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duckdb",
        type=Path,
        default=Path(".local/claims_fraud.duckdb"),
        help="the DuckDB file dbt built (local target)",
    )
    parser.add_argument(
        "--mlflow-dir",
        type=Path,
        default=None,
        help="local MLflow store (default: $CLAIMS_FRAUD_MLFLOW_DIR or .local/mlflow)",
    )


def _run_promote(args: argparse.Namespace) -> int:
    from claims_fraud.promote import run_promotion
    from claims_fraud.tracking import MlflowSettings, NoModelWithAliasError
    from claims_fraud.warehouse import DuckDBWarehouse, TableNotFoundError

    try:
        decision = run_promotion(
            DuckDBWarehouse(args.duckdb), MlflowSettings.local(args.mlflow_dir)
        )
    except (NoModelWithAliasError, TableNotFoundError) as exc:
        print(f"claims-fraud promote: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(decision.describe())
    return EXIT_OK


def _run_has_champion(args: argparse.Namespace) -> int:
    from claims_fraud.tracking import CHAMPION, MlflowSettings, version_by_alias

    settings = MlflowSettings.local(args.mlflow_dir)
    champion = version_by_alias(settings.activate(), settings.classifier_name, CHAMPION)
    if champion is None:
        print(f"no @{CHAMPION} version of {settings.classifier_name}")
        return 1
    print(f"{settings.classifier_name} v{champion.version} is @{CHAMPION}")
    return EXIT_OK


def _add_alerts_arguments(parser: argparse.ArgumentParser) -> None:
    _add_warehouse_arguments(parser)
    parser.add_argument(
        "--batch-id", default=None, help="the batch to report (default: the latest monitored)"
    )
    parser.add_argument(
        "--notify",
        action="append",
        default=None,
        metavar="URL",
        help="an apprise channel URL (slack://..., mailto://..., json://host/path); repeatable; "
        "default: $CLAIMS_FRAUD_ALERT_URLS, none = print only",
    )
    parser.add_argument(
        "--retrain",
        choices=("local", "databricks", "off"),
        default=os.environ.get("CLAIMS_FRAUD_RETRAIN", "local"),
        help="how to retrain when a PSI is at error: the local train selector, the Databricks "
        "training job (--training-job-id), or not at all ($CLAIMS_FRAUD_RETRAIN)",
    )
    parser.add_argument(
        "--training-job-id",
        default=os.environ.get("CLAIMS_FRAUD_TRAINING_JOB_ID"),
        help="Databricks job id of the training job ($CLAIMS_FRAUD_TRAINING_JOB_ID)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path(os.environ.get("DBT_PROJECT_DIR", ".")),
        help="the dbt project the local retraining runs in ($DBT_PROJECT_DIR)",
    )


def _run_alerts(args: argparse.Namespace) -> int:
    from claims_fraud import alerts
    from claims_fraud.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(args.duckdb, default_schema="main_monitoring")
    retrainer = None
    if args.retrain == "local":

        def promote() -> str:
            code = main(["promote", "--duckdb", str(args.duckdb), *_mlflow_args(args)])
            return "gate ran" if code == EXIT_OK else f"gate exited {code}"

        retrainer = alerts.local_retrainer(args.project_dir, after=promote)
    elif args.retrain == "databricks":
        if not args.training_job_id:
            print("claims-fraud alerts: error: --retrain databricks needs --training-job-id")
            return EXIT_USAGE
        retrainer = alerts.databricks_retrainer(args.training_job_id)
    try:
        run = alerts.run_alerts(
            warehouse, alerts.channel_urls(args.notify), retrainer, batch_id=args.batch_id
        )
    except alerts.MonitoringNotRunError as exc:
        print(f"claims-fraud alerts: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(alerts.describe(run))
    return run.exit_code


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    _add_warehouse_arguments(parser)
    parser.add_argument(
        "--batch-id", default=None, help="the batch to report (default: the latest monitored)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".local/monitoring_report.html"),
        help="where to write the self-contained HTML report",
    )


def _run_report(args: argparse.Namespace) -> int:
    from claims_fraud.report import load_report_data, write_report
    from claims_fraud.warehouse import DuckDBWarehouse, TableNotFoundError

    try:
        data = load_report_data(DuckDBWarehouse(args.duckdb))
        path = write_report(data, args.out, batch_id=args.batch_id)
    except (TableNotFoundError, ValueError) as exc:
        print(f"claims-fraud report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"monitoring report: {path.resolve()}")
    return EXIT_OK


def _mlflow_args(args: argparse.Namespace) -> list[str]:
    return ["--mlflow-dir", str(args.mlflow_dir)] if args.mlflow_dir else []


SUBCOMMANDS: dict[str, Subcommand] = {
    "generate": Subcommand(
        help="write a synthetic claims dataset (Parquet + _manifest.json)",
        add_arguments=_add_generate_arguments,
        run=_run_generate,
    ),
    "promote": Subcommand(
        help="make the @challenger @champion if the performance, fairness and data-test gates pass",
        add_arguments=_add_warehouse_arguments,
        run=_run_promote,
    ),
    "has-champion": Subcommand(
        help="exit 0 when the registry has a @champion classifier, 1 when not",
        add_arguments=_add_warehouse_arguments,
        run=_run_has_champion,
    ),
    "alerts": Subcommand(
        help="summarise the latest batch's monitoring verdicts, notify, trigger retraining on "
        "drift, record to mon_alerts; exit 1 when anything is at error or fail",
        add_arguments=_add_alerts_arguments,
        run=_run_alerts,
    ),
    "report": Subcommand(
        help="write the monitoring report (one self-contained HTML file): PSI heat map, score "
        "distribution, disparate impact, volume, promotion history",
        add_arguments=_add_report_arguments,
        run=_run_report,
    ),
    "summary": Subcommand(
        help="print rows per table and quarantined lines by reason from the local DuckDB file",
        add_arguments=_add_warehouse_arguments,
        run=_run_summary,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per entry of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="claims-fraud", description="Health-insurance claims fraud detection jobs."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, command in SUBCOMMANDS.items():
        sub = subparsers.add_parser(
            name,
            help=command.help,
            description=command.help,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claims-fraud`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
