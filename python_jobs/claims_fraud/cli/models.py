"""`claims-fraud promote` and `claims-fraud has-champion`: the registry's @challenger and
@champion (MLflow: local sqlite store, or the Unity Catalog registry on Databricks)."""

from __future__ import annotations

import argparse

from claims_fraud.cli.common import (
    EXIT_OK,
    add_warehouse_arguments,
    fail,
    mlflow_settings,
    warehouse,
)


def run_promote(args: argparse.Namespace) -> int:
    from claims_fraud.ml.promote import run_promotion
    from claims_fraud.ml.tracking import NoModelWithAliasError
    from claims_fraud.warehouse.connections import TableNotFoundError

    try:
        decision = run_promotion(warehouse(args, "ml"), mlflow_settings(args))
    except (NoModelWithAliasError, TableNotFoundError) as exc:
        return fail("promote", exc)
    print(decision.describe())
    return EXIT_OK


def add_rollback_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason",
        required=True,
        help="why (kept in ml_promotion_decisions with who and when)",
    )
    parser.add_argument(
        "--to-version",
        default=None,
        help="the registry version to make @champion (default: the most recently promoted "
        "version other than the current champion; empty = default)",
    )
    add_warehouse_arguments(parser)


def run_rollback(args: argparse.Namespace) -> int:
    from claims_fraud.ml.rollback import RollbackRefusedError, run_rollback
    from claims_fraud.ml.tracking import NoModelWithAliasError

    to_version = (args.to_version or "").strip().removeprefix("v") or None
    try:
        done = run_rollback(warehouse(args, "ml"), mlflow_settings(args), args.reason, to_version)
    except (RollbackRefusedError, NoModelWithAliasError) as exc:
        return fail("rollback", f"{exc}; nothing was changed")
    print(done.describe())
    return EXIT_OK


def run_has_champion(args: argparse.Namespace) -> int:
    # Loads what scoring loads (both @champion models and the classifier's reference profile):
    # an alias whose artifacts are gone or corrupt is no champion, so `make run` retrains.
    from claims_fraud.ml.score import load_champions
    from claims_fraud.ml.tracking import CHAMPION, BrokenModelError, NoModelWithAliasError

    settings = mlflow_settings(args)
    try:
        champions = load_champions(settings)
    except NoModelWithAliasError:
        # Expected on a first run: say what comes next, not an error.
        print(
            f"no @{CHAMPION} version of {settings.classifier_name} yet: the training job "
            "trains and promotes one (`claims-fraud bundle run claims_fraud_training`)"
        )
        return 1
    except BrokenModelError as exc:
        fail("has-champion", exc)
        return 1
    print(
        f"{champions.model_name} v{champions.model_version} is @{CHAMPION} (with "
        f"{settings.autoencoder_name} v{champions.anomaly_model_version}); both models and "
        "the reference profile load"
    )
    return EXIT_OK
