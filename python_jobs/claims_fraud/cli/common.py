"""What several subcommands share: the help format, exit codes, and the warehouse/MLflow options
of the jobs that read dbt's tables (local DuckDB + sqlite MLflow, or Unity Catalog + workspace
MLflow on Databricks). Imports nothing heavy: `claims-fraud --help` stays fast."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from claims_fraud.warehouse import params

EXIT_OK = 0
EXIT_USAGE = 2


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal, examples (the epilog) kept line by line, as
    RawDescriptionHelpFormatter would; ``(default: X)`` only where there is a default worth
    showing (not None, False or an empty list)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or not action.option_strings
            or default in (None, False, argparse.SUPPRESS)
            or (isinstance(default, list | tuple) and not default)
        ):
            return text
        return f"{text} (default: %(default)s)"


def example(*lines: str) -> str:
    """An epilog: the example command lines, indented as a terminal shows them."""
    return (
        "example"
        + ("s" if len(lines) > 1 else "")
        + ":\n"
        + "\n".join(f"  {line}" for line in lines)
    )


def fail(command: str, message: object, code: int = EXIT_USAGE) -> int:
    """Print ``claims-fraud COMMAND: error: MESSAGE`` on stderr; return ``code``."""
    print(f"claims-fraud {command}: error: {message}", file=sys.stderr)
    return code


def add_local_store_arguments(parser: argparse.ArgumentParser) -> None:
    """--duckdb and --mlflow-dir: the local target's warehouse file and MLflow store."""
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
        help="local MLflow store (if not given: $CLAIMS_FRAUD_MLFLOW_DIR, else .local/mlflow)",
    )


def add_warehouse_arguments(parser: argparse.ArgumentParser) -> None:
    """--duckdb, --mlflow-dir, and the Databricks group the bundle's wheel tasks use."""
    add_local_store_arguments(parser)
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
        help="catalog of the dbt target (--warehouse spark, --mlflow databricks; "
        "$CLAIMS_FRAUD_CATALOG)",
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


def require_catalog(args: argparse.Namespace) -> str:
    if not args.catalog:
        raise SystemExit(
            f"claims-fraud {args.command}: error: --warehouse spark / --mlflow databricks "
            "need --catalog (or $CLAIMS_FRAUD_CATALOG)"
        )
    return str(args.catalog)


def warehouse(args: argparse.Namespace, new_tables_in: str):
    """Where the job reads dbt's tables and appends its own (``new_tables_in``: the schema
    suffix, ``ml`` or ``monitoring``, for a table that does not exist yet)."""
    from claims_fraud.warehouse.connections import DuckDBWarehouse, SparkWarehouse

    if args.warehouse == "spark":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        return SparkWarehouse(spark, require_catalog(args), args.schema, new_tables_in)
    return DuckDBWarehouse(args.duckdb, default_schema=f"main_{new_tables_in}")


def mlflow_settings(args: argparse.Namespace):
    from claims_fraud.ml.tracking import MlflowSettings

    if args.mlflow == "databricks":
        return MlflowSettings.databricks(require_catalog(args), args.schema, args.experiment_path)
    return MlflowSettings.local(args.mlflow_dir)
