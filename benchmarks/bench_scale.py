"""Scale steps of `make bench` for the ML budgets, run as their own processes by bench.py.

The generator's 5% SIU investigation rate means 1M *labelled* claims would need about 50M
claim lines; instead the labelled claims of a built dataset are resampled with replacement
(new claim ids, same dates, features and labels) to the size under test. Scoring resamples
the feature table the same way, and explains its flagged claims (the top 3 TreeSHAP reasons,
as ml_score_contributions does). Timings cover the work only, not the loading.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from claims_fraud.features.spec import load_feature_spec
from claims_fraud.ml.explain import explain_claims
from claims_fraud.ml.populations import project_training_config
from claims_fraud.ml.score import load_champions, score_batch
from claims_fraud.ml.tracking import CHALLENGER, MlflowSettings
from claims_fraud.ml.train import label_claims, time_split, train_candidates
from claims_fraud.warehouse.connections import DuckDBWarehouse


def resample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows drawn with replacement, each with a fresh claim_id."""
    picks = np.random.default_rng(seed).integers(0, len(frame), rows)
    sample = frame.iloc[picks].reset_index(drop=True)
    sample["claim_id"] = [f"R{index:010d}" for index in range(rows)]
    return sample


def time_training(warehouse: DuckDBWarehouse, rows: int, seed: int) -> dict[str, float]:
    spec = load_feature_spec()
    labelled = label_claims(
        warehouse.read("fct_claim_features"), warehouse.read("stg_claims__siu_investigation")
    )
    sample = resample(labelled, rows, seed)
    config = replace(project_training_config(), seed=seed)  # the training job's hyperparameters
    started = time.perf_counter()
    split = time_split(sample, config.validation_share)
    candidates = train_candidates(split, spec, config)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "rows": float(rows)}
    for candidate in candidates:
        result[f"{candidate.flavour}_seconds"] = candidate.train_seconds
        result[f"{candidate.flavour}_pr_auc"] = candidate.metrics["pr_auc"]
    return result


def time_scoring(
    warehouse: DuckDBWarehouse, mlflow_dir: Path, rows: int, seed: int
) -> dict[str, float]:
    features = resample(warehouse.read("fct_claim_features"), rows, seed)
    # The compute cost of scoring, whatever the promotion gate decided: the latest trained
    # models (@challenger). Production scoring only ever loads @champion.
    champions = load_champions(MlflowSettings.local(mlflow_dir), alias=CHALLENGER)
    started = time.perf_counter()
    scores = score_batch(features, champions, "bench")
    scored = time.perf_counter()
    # what ml_score_contributions adds: the top 3 TreeSHAP reasons of every flagged claim
    flagged = features.loc[scores["is_flagged"].to_numpy()].reset_index(drop=True)
    reasons = explain_claims(flagged, champions.classifier)
    explained = time.perf_counter()
    return {
        "seconds": explained - started,
        "score_seconds": scored - started,
        "explain_seconds": explained - scored,
        "rows": float(len(scores)),
        "flagged": float(len(flagged)),
        "reasons": float(len(reasons)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["train", "score"])
    parser.add_argument("--duckdb", type=Path, required=True)
    parser.add_argument("--mlflow-dir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    warehouse = DuckDBWarehouse(args.duckdb)
    if args.step == "train":
        result = time_training(warehouse, args.rows, args.seed)
    else:
        result = time_scoring(warehouse, args.mlflow_dir, args.rows, args.seed)
    args.out.write_text(json.dumps(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
