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

from claims_fraud.cli.summary import (
    collect_scoring_summary,
    collect_summary,
    format_scoring_summary,
    format_summary,
)
from claims_fraud.features.reference import load_reference
from claims_fraud.synthetic import demo_folder
from claims_fraud.synthetic.generate import (
    AGE_GROUPS,
    BIAS_ATTRIBUTES,
    SCHEMES,
    FraudRates,
    GeneratorConfig,
    check_config_against_reference,
    run_generation,
)
from claims_fraud.warehouse import params

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
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help=(
            "output folder: new, empty, or one the generator wrote before (a folder with other "
            f"files is refused, marker {demo_folder.MARKER_FILE})"
        ),
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help=(
            "do nothing (exit 0) when the folder already holds demo claims, or holds your own "
            "data: what `make data` runs"
        ),
    )
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
    if args.if_missing and (note := _existing_data_note(args.out)):
        print(f"claims-fraud generate: {note}")
        return EXIT_OK
    try:
        demo_folder.require_writable(args.out)
    except demo_folder.FolderNotOwnedError as exc:
        print(f"claims-fraud generate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with tqdm(total=0, disable=args.no_progress, unit="step", desc="generate") as bar:
        out = run_generation(config, args.out, reference, TqdmProgress(bar))
    if not args.no_progress:
        print(f"wrote {config.n_lines:,} claim lines to {out}", file=sys.stderr)
    return EXIT_OK


def _existing_data_note(out: Path) -> str | None:
    """What --if-missing says instead of generating, or None when it should generate."""
    found = demo_folder.foreign_files(out)
    if found:
        shown = ", ".join(found[:10]) + (" ..." if len(found) > 10 else "")
        note = f"using your data in {out} ({shown}); no demo data generated there."
        if not demo_folder.has_claims(out):
            note += (
                f" It has no {demo_folder.CLAIMS_TABLE}{demo_folder.RAW_FILE_SUFFIX} yet: dbt stops"
                " with a missing-file error until it does."
            )
        return note
    if demo_folder.has_claims(out):
        return f"demo data already in {out}; delete the folder to generate it again."
    return None


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
    databricks = parser.add_argument_group(
        "on Databricks (the bundle's wheel tasks pass these; locally the defaults apply)"
    )
    databricks.add_argument(
        "--warehouse",
        choices=("duckdb", "spark"),
        default=os.environ.get("CLAIMS_FRAUD_WAREHOUSE", "duckdb"),
        help="read and write the tables in the --duckdb file, or in Unity Catalog "
        "<catalog>.<schema>_* through the cluster's Spark session ($CLAIMS_FRAUD_WAREHOUSE)",
    )
    databricks.add_argument(
        "--catalog",
        type=params.argparse_type(params.identifier, "--catalog"),
        default=os.environ.get("CLAIMS_FRAUD_CATALOG"),
        help="catalog of the dbt target (--warehouse spark, --mlflow databricks)",
    )
    databricks.add_argument(
        "--schema",
        type=params.argparse_type(params.identifier, "--schema"),
        default=os.environ.get("CLAIMS_FRAUD_SCHEMA", "claims_fraud"),
        help="base schema of the dbt target; tables are found in it and its <schema>_* schemas",
    )
    databricks.add_argument(
        "--mlflow",
        choices=("local", "databricks"),
        default=os.environ.get("CLAIMS_FRAUD_MLFLOW", "local"),
        help="MLflow: the local sqlite store (--mlflow-dir), or workspace tracking with the "
        "Unity Catalog registry (<catalog>.<schema>.<model>) ($CLAIMS_FRAUD_MLFLOW)",
    )
    databricks.add_argument(
        "--experiment-path",
        default=os.environ.get("CLAIMS_FRAUD_EXPERIMENT_PATH", "/Shared/claims_fraud"),
        help="workspace experiment (--mlflow databricks); the dbt var mlflow_experiment_path",
    )


def _require_catalog(args: argparse.Namespace) -> str:
    if not args.catalog:
        raise SystemExit(
            f"claims-fraud {args.command}: error: --warehouse spark / --mlflow databricks "
            "need --catalog (or $CLAIMS_FRAUD_CATALOG)"
        )
    return str(args.catalog)


def _warehouse(args: argparse.Namespace, new_tables_in: str):
    """Where the job reads dbt's tables and appends its own (``new_tables_in``: the schema
    suffix, ``ml`` or ``monitoring``, for a table that does not exist yet)."""
    from claims_fraud.warehouse.connections import DuckDBWarehouse, SparkWarehouse

    if args.warehouse == "spark":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        return SparkWarehouse(spark, _require_catalog(args), args.schema, new_tables_in)
    return DuckDBWarehouse(args.duckdb, default_schema=f"main_{new_tables_in}")


def _mlflow_settings(args: argparse.Namespace):
    from claims_fraud.ml.tracking import MlflowSettings

    if args.mlflow == "databricks":
        return MlflowSettings.databricks(_require_catalog(args), args.schema, args.experiment_path)
    return MlflowSettings.local(args.mlflow_dir)


def _warehouse_args(args: argparse.Namespace) -> list[str]:
    """The options of _add_warehouse_arguments as given, to pass on to another subcommand."""
    out = ["--duckdb", str(args.duckdb), *_mlflow_args(args)]
    out += ["--warehouse", args.warehouse, "--schema", args.schema, "--mlflow", args.mlflow]
    out += ["--experiment-path", args.experiment_path]
    return out + (["--catalog", args.catalog] if args.catalog else [])


def _run_promote(args: argparse.Namespace) -> int:
    from claims_fraud.ml.promote import run_promotion
    from claims_fraud.ml.tracking import NoModelWithAliasError
    from claims_fraud.warehouse.connections import TableNotFoundError

    try:
        decision = run_promotion(_warehouse(args, "ml"), _mlflow_settings(args))
    except (NoModelWithAliasError, TableNotFoundError) as exc:
        print(f"claims-fraud promote: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(decision.describe())
    return EXIT_OK


def _run_has_champion(args: argparse.Namespace) -> int:
    # Loads what scoring loads (both @champion models and the classifier's reference profile):
    # an alias whose artifacts are gone or corrupt is no champion, so `make run` retrains.
    from claims_fraud.ml.score import load_champions
    from claims_fraud.ml.tracking import CHAMPION, BrokenModelError, NoModelWithAliasError

    settings = _mlflow_settings(args)
    try:
        champions = load_champions(settings)
    except NoModelWithAliasError as exc:
        print(f"no usable @{CHAMPION}: {exc}")
        return 1
    except BrokenModelError as exc:
        print(f"claims-fraud has-champion: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{champions.model_name} v{champions.model_version} is @{CHAMPION} (with "
        f"{settings.autoencoder_name} v{champions.anomaly_model_version}); both models and "
        "the reference profile load"
    )
    return EXIT_OK


def _add_alerts_arguments(parser: argparse.ArgumentParser) -> None:
    _add_warehouse_arguments(parser)
    parser.add_argument(
        "--batch-id",
        type=params.argparse_type(params.batch_id, "--batch-id"),
        default=None,
        help="the batch to report (default: the latest monitored)",
    )
    parser.add_argument(
        "--notify",
        action="append",
        default=None,
        metavar="URL",
        help="an apprise channel URL (slack://..., mailto://..., json://host/path); repeatable; "
        "default: $CLAIMS_FRAUD_ALERT_URLS, none = print only. An unknown scheme or a malformed "
        "URL is refused (exit 2) before anything is read or sent",
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
    from claims_fraud.monitoring import alerts

    urls = alerts.channel_urls(args.notify)
    try:  # before the warehouse: a bad URL costs no read, no Spark session, no delivery
        alerts.check_channels(urls, "--notify" if args.notify else "$CLAIMS_FRAUD_ALERT_URLS")
    except alerts.ChannelConfigError as exc:
        print(f"claims-fraud alerts: error: {exc}", file=sys.stderr)
        return alerts.EXIT_REFUSED
    warehouse = _warehouse(args, "monitoring")
    retrainer = None
    if args.retrain == "local":

        def promote() -> str:
            code = main(["promote", *_warehouse_args(args)])
            return "gate ran" if code == EXIT_OK else f"gate exited {code}"

        retrainer = alerts.local_retrainer(args.project_dir, after=promote)
    elif args.retrain == "databricks":
        if not args.training_job_id:
            print("claims-fraud alerts: error: --retrain databricks needs --training-job-id")
            return EXIT_USAGE
        retrainer = alerts.databricks_retrainer(args.training_job_id)
    try:
        run = alerts.run_alerts(warehouse, urls, retrainer, batch_id=args.batch_id)
    except alerts.MonitoringNotRunError as exc:
        print(f"claims-fraud alerts: error: {exc}", file=sys.stderr)
        return alerts.EXIT_REFUSED
    print(alerts.describe(run))
    return run.exit_code


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    _add_warehouse_arguments(parser)
    parser.add_argument(
        "--batch-id",
        type=params.argparse_type(params.batch_id, "--batch-id"),
        default=None,
        help="the batch to report (default: the latest monitored)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".local/monitoring_report.html"),
        help="where to write the self-contained HTML report",
    )


def _run_report(args: argparse.Namespace) -> int:
    from claims_fraud.monitoring.report import load_report_data, write_report
    from claims_fraud.warehouse.connections import TableNotFoundError

    try:
        data = load_report_data(_warehouse(args, "monitoring"))
        path = write_report(data, args.out, batch_id=args.batch_id)
    except (TableNotFoundError, ValueError) as exc:
        print(f"claims-fraud report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"monitoring report: {path.resolve()}")
    return EXIT_OK


def _add_bundle_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="bundle_action", required=True)
    validate = actions.add_parser(
        "validate",
        help="check databricks.yml + resources/ offline: JSON schema, databricks-bundles "
        "Job.from_dict, dbt selectors, console scripts and CLI subcommands; exit 1 on a problem",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    validate.add_argument(
        "--target",
        action="append",
        default=None,
        help="target to check (repeatable; default: every target of databricks.yml)",
    )
    validate.add_argument(
        "--schema",
        type=Path,
        default=None,
        help="bundle JSON schema (default: $CLAIMS_FRAUD_BUNDLE_SCHEMA, else "
        "schemas/databricks-bundle.schema.json in the project)",
    )
    run = actions.add_parser(
        "run",
        help="run one job's tasks in dependency order on the local target (dbt --target local, "
        "Databricks-only options translated); exit 1 if a task failed",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    run.add_argument("job", help="job resource key, e.g. claims_fraud_pipeline")
    run.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    run.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="TASK",
        help="count this task as done without running it (repeatable)",
    )
    run.add_argument(
        "--target", default=None, help="bundle target whose variables apply (default: its default)"
    )
    run.add_argument(
        "--duckdb",
        type=Path,
        default=None,
        help="DuckDB file passed to the CLI tasks (default: $CLAIMS_FRAUD_DUCKDB_PATH, else "
        "each subcommand's own default)",
    )
    run.add_argument(
        "--local-dir", type=Path, default=Path(".local"), help="where volume paths land locally"
    )
    for sub in (validate, run):
        sub.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="set a bundle variable, as `databricks bundle ... --var` does (repeatable)",
        )
        sub.add_argument(
            "--project-dir",
            type=Path,
            default=Path(os.environ.get("DBT_PROJECT_DIR", ".")),
            help="folder of databricks.yml ($DBT_PROJECT_DIR)",
        )


def _name_value(item: str) -> tuple[str, str]:
    from claims_fraud.deploy.bundle import BundleError

    name, sep, value = item.partition("=")
    if not sep or not name:
        raise BundleError(f"--var {item!r}: expected NAME=VALUE")
    return name, value


def _run_bundle(args: argparse.Namespace) -> int:
    from claims_fraud.deploy import bundle

    root = args.project_dir
    try:
        variables = dict(_name_value(item) for item in args.var)
        if args.bundle_action == "run":
            settings = bundle.LocalSettings.from_env()
            settings = bundle.LocalSettings(
                duckdb=args.duckdb or settings.duckdb,
                local_dir=args.local_dir,
                project_dir=root,
            )
            config = bundle.load_bundle(root, args.target, variables=variables)
            jobs = bundle.jobs(config)
            if args.job not in jobs:
                print(f"claims-fraud bundle run: error: no job {args.job!r} (have: {sorted(jobs)})")
                return EXIT_USAGE
            return bundle.run_job(jobs[args.job], settings, dry_run=args.dry_run, skip=args.skip)
        bundle.require_validation_packages()
        schema = bundle.find_schema(root, args.schema)
        document = bundle.load_document(root)
        targets = args.target or sorted(document.get("targets") or {})
    except bundle.BundleError as exc:
        print(f"claims-fraud bundle: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"schema: {schema}")
    print(
        "checks: JSON schema (whole document and per target), databricks-bundles Job.from_dict, "
        "dbt commands and selectors, wheel package, entry points, CLI subcommands and options, "
        "depends_on (known tasks, no cycle), job clusters, run_if"
    )
    problems = bundle.validate_schema(document, schema)
    print(f"databricks.yml + includes (all targets): {len(problems)} schema problem(s)")
    for target in targets:
        report = bundle.validate_target(root, target, schema, variables, cli=cli_spec())
        checked = ", ".join(f"{job} ({n} tasks)" for job, n in report.jobs.items()) or "no jobs"
        others = ", ".join(f"{n} {kind}" for kind, n in report.other_resources.items())
        status = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
        print(f"target {target}: {status}: {checked}" + (f"; {others}" if others else ""))
        problems += [f"target {target}: {p}" for p in report.problems]
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else EXIT_OK


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
        help="exit 0 when the registry's @champion classifier and autoencoder and the "
        "classifier's reference profile all load, 1 when one is missing or broken (says which)",
        add_arguments=_add_warehouse_arguments,
        run=_run_has_champion,
    ),
    "alerts": Subcommand(
        help="summarise the latest batch's monitoring verdicts, notify, trigger retraining on "
        "drift, record to mon_alerts. Exit 0: all within thresholds and delivered; 1: something "
        "at error or fail; 2: refused at start (unknown or malformed channel URL, monitoring "
        "not built), nothing sent or recorded; 3: a channel did not get the summary (wins over "
        "1: whoever should have been told was not)",
        add_arguments=_add_alerts_arguments,
        run=_run_alerts,
    ),
    "report": Subcommand(
        help="write the monitoring report (one self-contained HTML file): PSI heat map, score "
        "distribution, disparate impact, volume, promotion history",
        add_arguments=_add_report_arguments,
        run=_run_report,
    ),
    "bundle": Subcommand(
        help="the Databricks Asset Bundle offline: `validate` it, or `run` one of its jobs "
        "on the local target",
        add_arguments=_add_bundle_arguments,
        run=_run_bundle,
    ),
    "summary": Subcommand(
        help="print rows per table and quarantined lines by reason from the local DuckDB file",
        add_arguments=_add_warehouse_arguments,
        run=_run_summary,
    ),
}


def cli_spec():
    """What this CLI accepts, for the bundle's wheel-task checks (claims_fraud.deploy)."""
    from claims_fraud.deploy.bundle import CliSpec

    return CliSpec(subcommands=tuple(SUBCOMMANDS), build_parser=build_parser)


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
