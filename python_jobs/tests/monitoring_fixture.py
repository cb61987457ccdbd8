"""The monitoring build on random inputs, on either target (targets.py): the tables the Python
models would write (fraud_scores, the reference bins, scores and score grid) and
fct_claim_features, with the edge cases the SQL must survive: ties on bin edges, outliers,
nulls, NaN, an unseen level, an all-null feature, a drifted batch, a volume spike, a batch
scored by a model version without a reference profile and an empty batch. Then
``dbt build`` of ml_reference_profile and of the monitor selector, data and unit tests
included. The same inputs (seeded) on DuckDB and on Spark are what the parity test compares.
integration/test_monitoring_sql.py checks the same kind of inputs against the numpy oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from targets import Project, write_tables

from claims_fraud.features.spec import FeatureSpec, load_feature_spec
from claims_fraud.ml.profile import reference_bins, score_quantile_grid

LEVELS = ("alpha", "beta", "gamma", "delta", "rare")
LEVEL_P = (0.4, 0.3, 0.2, 0.095, 0.005)  # 'rare' is under 1%: pooled into OTHER
REGIONS = ("Midwest", "Northeast", "South", "West")
REGION_P = (0.25, 0.25, 0.35, 0.15)
BATCHES = [f"b{i}" for i in range(1, 9)]
DRIFTED, SPIKE, ALL_NULL_BATCH, NO_PROFILE_BATCH = "b6", "b7", "b8", "b9"
EMPTY_BATCH = "b_empty"  # the run's scoring_batch_id: no scores, monitored as no_data
ALL_NULL_FEATURE = "days_to_payment"
# (schema suffix, model) of each input: where dbt's refs to it resolve on either target.
INPUTS = {
    "fct_claim_features": "features",
    "fraud_scores": "ml",
    "ml_reference_bins": "ml",
    "ml_reference_scores": "ml",
    "ml_reference_score_quantiles": "ml",
    "ml_validation_scores": "ml",
    "stg_claims__siu_investigation": "staging",
}
MONITORING_TABLES = (
    "mon_batches",
    "mon_data_volume",
    "mon_disparate_impact",
    "mon_feature_psi",
    "mon_feature_psi_bins",
    "mon_score_distribution",
    "mon_calibration",
    "mon_model_performance",
)
# Tests whose failure is a verdict on the data (drift, disparate impact, volume), not a bug:
# on these inputs they warn or fail by design, identically on every target.
STATUS_TESTS = (
    "psi_within",
    "disparate_impact_within",
    "score_distribution_stable",
    "volume_stable",
    "performance_within",
)
OK_STATUSES = {"success", "pass", "warn", "no-op"}  # no-op: the exposures
PROVIDER_LEVEL = "provider_high_em_share"  # one value per provider (_features)


def _features(spec: FeatureSpec, n: int, rng: np.random.Generator, drift: float = 0.0):
    frame = {}
    for i, column in enumerate(spec.numeric):
        if i % 2 == 0:  # integers: many ties on the decile edges
            values = rng.poisson(3 + 3 * drift, n).astype(float)
        else:
            values = np.round(rng.lognormal(3 + drift, 1, n), 2)
        values[rng.random(n) < 0.03] = np.nan
        if i % 5 == 1:
            values[rng.random(n) < 0.002] = 1e12  # outliers land in the open last bin
        frame[column] = values
    for column in spec.boolean:
        values = pd.array(rng.random(n) < 0.3 + 0.3 * drift, dtype="boolean")
        values[rng.random(n) < 0.02] = pd.NA
        frame[column] = values
    for column in spec.categorical:
        values = rng.choice(LEVELS, size=n, p=LEVEL_P).astype(object)
        if drift:
            values[rng.random(n) < 0.2] = "never_seen"
        values[rng.random(n) < 0.02] = None
        frame[column] = values
    frame["gender"] = rng.choice(["female", "male", None], size=n, p=[0.5, 0.49, 0.01])
    frame["age_group"] = rng.choice(["18-34", "35-49", "50-64", "65+"], size=n)
    # West, the group b5 flags more often, is never the largest (the reference group): a DI
    # of the boosted group against itself would be 1 whatever the draw
    frame["member_region"] = rng.choice(REGIONS, size=n, p=REGION_P)
    # the disparate impact tests' clusters: 150 providers, taking turns (no draw, so the
    # random inputs above are what they were)
    frame["rendering_npi"] = [f"npi-{j % 150:03d}" for j in range(n)]
    # one provider-level input, a value per provider as the provider shares have (no draw
    # either): its counts cluster by provider in the reference and in the batches, so both
    # sides of its PSI have design effects well above 1
    provider = np.arange(n) % 150
    frame[PROVIDER_LEVEL] = (provider % 17) / 17 + 0.5 * drift
    return pd.DataFrame(frame)


def monitoring_inputs(seed: int = 2026) -> dict[str, pd.DataFrame]:
    """The random inputs, by model name (see INPUTS for their schemas)."""
    rng = np.random.default_rng(seed)
    spec = load_feature_spec()
    reference = _features(spec, 5000, rng)
    reference_score = rng.beta(2, 8, len(reference))
    bins = reference_bins(reference, spec, reference_score)
    grid = score_quantile_grid(reference_score)
    flag_threshold = np.quantile(reference_score, 0.95)
    reference.insert(0, "claim_id", [f"ref-{j}" for j in range(len(reference))])
    # the training window's inputs as training logged them, beside its scores
    reference_scores = reference.assign(fraud_probability=reference_score)
    for frame in (bins, grid, reference_scores):
        frame.insert(0, "run_id", "run-1")
        frame.insert(0, "model_version", "1")
        frame.insert(0, "model_name", "claims_fraud_classifier")
    features, scores = [], []
    start = datetime(2026, 3, 1)
    for i, batch in enumerate([*BATCHES, NO_PROFILE_BATCH]):
        n = int(rng.integers(900, 1300)) if batch != SPIKE else 2600
        frame = _features(spec, n, rng, drift=1.0 if batch == DRIFTED else 0.0)
        if batch == ALL_NULL_BATCH:
            frame[ALL_NULL_FEATURE] = np.nan
        frame.insert(0, "claim_id", [f"{batch}-{j}" for j in range(n)])
        probability = rng.beta(2, 8 - 4 * (batch == DRIFTED), n)
        region_boost = np.where(frame["member_region"] == "West", 0.3, 0.0) * (batch == "b5")
        # flagged as scoring flags (the reference's top 5% of scores), and in b5 West more
        flagged = (probability >= flag_threshold) | (rng.random(n) < region_boost)
        scores.append(
            pd.DataFrame(
                {
                    "claim_id": frame["claim_id"],
                    "fraud_probability": probability,
                    "anomaly_score": rng.gamma(2, 1.5, n),
                    "is_flagged": flagged,
                    "model_name": "claims_fraud_classifier",
                    "model_version": "2" if batch == NO_PROFILE_BATCH else "1",
                    "batch_id": batch,
                    "scored_at": start + timedelta(days=i),
                    # daily batches, each scored at the end of its ingest window
                    "window_start": start + timedelta(days=i - 1),
                    "window_end": start + timedelta(days=i),
                }
            )
        )
        features.append(frame)
    features_frame = pd.concat(features, ignore_index=True)
    scores_frame = pd.concat(scores, ignore_index=True)
    # each claim ingested when its batch's window closes: the monitoring date (as_of) is the
    # last batch's window end
    features_frame["ingested_at"] = scores_frame["window_end"].to_numpy()
    validation, investigations = _outcomes(scores_frame, np.random.default_rng(seed + 1))
    return {
        "fct_claim_features": features_frame,
        "fraud_scores": scores_frame,
        "ml_reference_bins": bins,
        "ml_reference_scores": reference_scores,
        "ml_reference_score_quantiles": grid,
        "ml_validation_scores": validation,
        "stg_claims__siu_investigation": investigations,
    }


def _outcomes(scores: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The champion's validation window (ml_validation_scores) and SIU outcomes of its claims
    and of the batches' (drawn with a generator of their own, so the draws above stay what
    they were). Fraud follows the score, except in the DRIFTED batch, where a third as much:
    its realized precision falls. The SIU investigates flagged claims more often; outcomes
    close 0-20 days after the batch's window, so the last batches are partly unlabelled on the
    monitoring date; some are inconclusive, and validation scores tie (3 decimals)."""
    n = 3000
    # scored as the batches are (the reference's distribution), rounded: ties on the edges
    probability = np.round(rng.beta(2, 8, n), 3)
    validation = pd.DataFrame(
        {
            "model_name": "claims_fraud_classifier",
            "model_version": "1",
            "run_id": "run-1",
            "claim_id": [f"val-{j}" for j in range(n)],
            "fraud_probability": probability,
            "is_flagged": probability >= np.quantile(probability, 0.95),
        }
    )
    claims = pd.concat(
        [
            validation.assign(closes=datetime(2026, 2, 1), fraud_rate=probability),
            scores.assign(
                closes=scores["window_end"],
                fraud_rate=scores["fraud_probability"]
                * np.where(scores["batch_id"] == DRIFTED, 0.3, 1.0),
            ),
        ],
        ignore_index=True,
    )
    investigated = rng.random(len(claims)) < np.where(claims["is_flagged"], 0.8, 0.2)
    claims = claims[investigated].reset_index(drop=True)
    outcome = np.where(
        rng.random(len(claims)) < claims["fraud_rate"], "confirmed_fraud", "no_fraud"
    )
    outcome[rng.random(len(claims)) < 0.05] = "inconclusive"
    closed = claims["closes"] + pd.to_timedelta(rng.integers(0, 21, len(claims)), unit="D")
    investigations = pd.DataFrame(
        {
            "claim_id": claims["claim_id"].astype(str),
            "investigation_closed_date": closed.dt.date,
            "outcome": outcome,
        }
    )
    return validation, investigations


@dataclass(frozen=True)
class MonitoringBuild:
    """A project after the monitoring build, and ``{unique_id: status}`` of each build."""

    project: Project
    reference_profile: dict[str, str]
    monitor: dict[str, str]


def statuses(project: Project) -> dict[str, str]:
    """``{unique_id: status}`` of the project's last dbt command."""
    return {r["unique_id"]: r["status"] for r in project.run_results()["results"]}


def is_status_test(unique_id: str) -> bool:
    return unique_id.startswith("test.") and unique_id.split(".")[2].startswith(STATUS_TESTS)


def not_ok(results: dict[str, str]) -> list[str]:
    """Nodes that did not pass, other than the status tests (verdicts on the data)."""
    return sorted(
        f"{uid} {status}"
        for uid, status in results.items()
        if status not in OK_STATUSES and not is_status_test(uid)
    )


def build_monitoring(project: Project, seed: int = 2026) -> MonitoringBuild:
    """The inputs written to the project's target, then ``dbt build`` of the reference
    profile and of the monitor selector (one --vars value for both: one parse)."""
    inputs = monitoring_inputs(seed)
    write_tables(project, {(INPUTS[name], name): frame for name, frame in inputs.items()})
    variables = ["--vars", f"{{scoring_batch_id: {EMPTY_BATCH}}}"]
    # the calibration reads a threshold: the seed first (cautious: not the features slice's
    # tests that also read it)
    reference = ("ml_reference_profile", "ml_score_calibration", "monitoring_thresholds")
    project.dbt(
        "build",
        "--select",
        *reference,
        "--indirect-selection",
        "cautious",
        *variables,
        unit_tests=True,
    )
    reference_profile = statuses(project)
    # The status tests fail the build on purpose (exit 1): the statuses are what is checked.
    result = project.dbt("build", "--selector", "monitor", *variables, check=False, unit_tests=True)
    if result.returncode not in (0, 1):
        pytest.fail(
            f"dbt build --selector monitor could not run:\n{result.stdout}\n{result.stderr}"
        )
    return MonitoringBuild(project, reference_profile, statuses(project))
