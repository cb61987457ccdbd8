"""``claims-fraud`` command line: one subcommand per job.

Each subcommand lives in its own module (cli/generate.py, cli/models.py, cli/monitoring.py,
cli/bundle.py, cli/summary.py) with an ``add_*arguments(parser)`` function and a ``run*(args) ->
int`` handler; :data:`SUBCOMMANDS` names them, with the help line and an example. Only the
module of the subcommand being run is imported, so ``claims-fraud --help`` and
``claims-fraud --version`` load no data library (pandas, numpy, duckdb, mlflow, xgboost).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from claims_fraud.cli.common import HelpFormatter, example
from claims_fraud.logs import route_library_warnings

DISTRIBUTION = "claims-fraud"


@dataclass(frozen=True)
class Subcommand:
    """A subcommand: help line, example(s), and where its options and handler live
    (``module:function`` names, imported only when the subcommand is used)."""

    help: str
    examples: tuple[str, ...]
    add_arguments: str
    run: str
    task_values: str | None = None
    description: str | None = None  # the subcommand's --help text, when longer than help

    def load(self, name: str):
        module, _, function = getattr(self, name).partition(":")
        return getattr(importlib.import_module(module), function)


SUBCOMMANDS: dict[str, Subcommand] = {
    "generate": Subcommand(
        help="write a synthetic claims dataset (Parquet + _manifest.json)",
        examples=("claims-fraud generate --lines 200000 --seed 42 --out .local/raw",),
        add_arguments="claims_fraud.cli.generate:add_arguments",
        run="claims_fraud.cli.generate:run",
    ),
    "promote": Subcommand(
        help="make the @challenger @champion if the performance, fairness and data-test gates pass",
        examples=("claims-fraud promote --duckdb .local/claims_fraud.duckdb",),
        add_arguments="claims_fraud.cli.common:add_warehouse_arguments",
        run="claims_fraud.cli.models:run_promote",
    ),
    "rollback": Subcommand(
        help="move @champion back to a version that passed its promotion gate (the previous "
        "one, or --to-version N), recorded in ml_promotion_decisions",
        description="Move @champion (classifier and autoencoder) back to the most recently "
        "promoted version other than the current one, or to --to-version N. Refused, nothing "
        "changed (exit 2): a version that never passed its gate, the current champion, a "
        "version whose files do not load, no reason given. The decision (action rollback, "
        "from, to, reason, who, when) is appended to ml_promotion_decisions.",
        examples=(
            'claims-fraud rollback --reason "v7 flags twice the budget since the March feed"',
            'claims-fraud rollback --to-version 3 --reason "back to the audited model"',
        ),
        add_arguments="claims_fraud.cli.models:add_rollback_arguments",
        run="claims_fraud.cli.models:run_rollback",
    ),
    "has-champion": Subcommand(
        help="is there a usable @champion? exit 0 yes, 1 no (says why)",
        description="Exit 0 when the registry's @champion classifier and autoencoder and the "
        "classifier's reference profile all load, 1 when one is missing or broken (says which).",
        examples=("claims-fraud has-champion --mlflow-dir .local/mlflow",),
        add_arguments="claims_fraud.cli.common:add_warehouse_arguments",
        run="claims_fraud.cli.models:run_has_champion",
    ),
    "alerts": Subcommand(
        help="summarise the latest batch's monitoring verdicts, notify, ask for retraining on "
        "drift, record to mon_alerts",
        description="Summarise the latest batch's monitoring verdicts, notify, ask for retraining "
        "on drift, record to mon_alerts. Exit 0: all within thresholds and delivered; 1: something "
        "at error or fail; 2: refused at start (unknown or malformed channel URL, monitoring "
        "not built), nothing sent or recorded; 3: a channel did not get the summary (wins over "
        "1: whoever should have been told was not)",
        examples=(
            "claims-fraud alerts --duckdb .local/claims_fraud.duckdb --retrain off",
            "claims-fraud alerts --notify json://localhost:8080/hook --retrain local",
        ),
        add_arguments="claims_fraud.cli.monitoring:add_alerts_arguments",
        run="claims_fraud.cli.monitoring:run_alerts",
        task_values="claims_fraud.cli.monitoring:alerts_task_values",
    ),
    "report": Subcommand(
        help="write the monitoring report (one self-contained HTML file): PSI heat map, score "
        "distribution, disparate impact, volume, promotion history",
        examples=("claims-fraud report --out .local/monitoring_report.html",),
        add_arguments="claims_fraud.cli.monitoring:add_report_arguments",
        run="claims_fraud.cli.monitoring:run_report",
    ),
    "evaluate-populations": Subcommand(
        help="train on one synthetic population (generator seed) and report PR-AUC and recall "
        "per fraud scheme on populations of other seeds, next to an IsolationForest",
        description="Generate each seed's dataset and build its features with dbt (each in "
        "WORK_DIR/seed-N), train as the training job does on the first seed, and judge every "
        "population on the training population's validation window against the generator's "
        "ground truth: PR-AUC, recall at the flag budget, recall per scheme, for the model and "
        "an IsolationForest fitted on the same claims. Registers nothing in MLflow.",
        examples=(
            "claims-fraud evaluate-populations --train-seed 42 --eval-seeds 7 2024",
            "claims-fraud evaluate-populations --lines 1000000 --work-dir /tmp/populations",
        ),
        add_arguments="claims_fraud.cli.populations:add_arguments",
        run="claims_fraud.cli.populations:run",
    ),
    "bundle": Subcommand(
        help="the Databricks Asset Bundle offline: `validate` it, or `run` one of its jobs "
        "on the local target",
        examples=(
            "claims-fraud bundle validate",
            "claims-fraud bundle run claims_fraud_pipeline --skip dbt_features",
        ),
        add_arguments="claims_fraud.cli.bundle:add_arguments",
        run="claims_fraud.cli.bundle:run",
    ),
    "summary": Subcommand(
        help="print rows per table, quarantined lines by reason, the task timings of the local "
        "bundle runs, the champion's metrics and where to look next",
        examples=("claims-fraud summary --duckdb .local/claims_fraud.duckdb",),
        add_arguments="claims_fraud.cli.summary:add_arguments",
        run="claims_fraud.cli.summary:run",
    ),
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per entry of :data:`SUBCOMMANDS`. With
    ``only``, only that subcommand gets its options (and imports its module); the others keep
    their help line. None: all of them (what the bundle's wheel-task checks parse with)."""
    parser = argparse.ArgumentParser(
        prog="claims-fraud",
        description="Health-insurance claims fraud detection jobs.",
        epilog=example("claims-fraud generate --help", "claims-fraud bundle run --help"),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}"
    )
    for name, command in SUBCOMMANDS.items():
        sub = subparsers.add_parser(
            name,
            help=command.help,
            description=command.description or command.help,
            epilog=example(*command.examples),
            formatter_class=HelpFormatter,
        )
        if only is None or only == name:
            command.load("add_arguments")(sub)
            sub.set_defaults(handler=command.load("run"))
    return parser


def cli_spec():
    """What this CLI accepts, for the bundle's wheel-task checks (claims_fraud.deploy)."""
    from claims_fraud.deploy.bundle import CliSpec

    def task_values(params: Sequence[str]) -> tuple[str, ...]:
        command = SUBCOMMANDS.get(params[0]) if params else None
        if command is None or command.task_values is None:
            return ()
        args = build_parser(params[0]).parse_args(list(params))
        return tuple(command.load("task_values")(args))

    return CliSpec(
        subcommands=tuple(SUBCOMMANDS), build_parser=build_parser, task_values=task_values
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claims-fraud`` console script; returns the exit code."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    route_library_warnings()  # where $CLAIMS_FRAUD_WARNINGS_LOG says (the bundle runner sets it)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command if command in SUBCOMMANDS else "").parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
