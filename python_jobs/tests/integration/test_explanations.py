"""Why a claim was flagged, and the SIU's queue: the score selector's ml_score_contributions,
fraud_score_explanations and siu_review_queue, built for real on the trained project (its
@champion scored the whole dataset), checked against the champion model itself."""

from __future__ import annotations

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
from harness import DbtProject

from claims_fraud.features.spec import load_feature_spec
from claims_fraud.ml.explain import TOP_REASONS
from claims_fraud.ml.tracking import MlflowSettings
from claims_fraud.synthetic.schemes import SCHEME_SIGNATURES

pytestmark = pytest.mark.integration

# schemes whose mechanism the champion learned (others lean on provider artefacts of the
# generator: excessive_units and provider_ring are explained by who the provider is, phantom
# billing is not flagged; issue 13 makes the generator and the features realistic)
EXPLAINED_SCHEMES = ("upcoding", "unbundling", "duplicate_billing", "impossible_days")


def frame(project: DbtProject, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(sql).df()


def test_every_flagged_claim_gets_its_top_contributions_and_they_add_up(
    trained_project: DbtProject,
) -> None:
    scores = frame(trained_project, "select * from main_ml.fraud_scores")
    found = frame(trained_project, "select * from main_ml.ml_score_contributions")
    flagged = scores.loc[scores["is_flagged"]]
    assert len(flagged) > 0
    assert set(found["claim_id"]) == set(flagged["claim_id"])
    counts = found.groupby("claim_id")["reason_rank"].agg(["count", "min", "max"])
    assert (counts["min"] == 1).all()
    assert (counts["max"] == counts["count"]).all()
    assert counts["count"].max() == TOP_REASONS
    assert (found["contribution"] > 0).all()
    ordered = found.sort_values(["claim_id", "reason_rank"])
    assert (ordered.groupby("claim_id")["contribution"].diff().dropna() <= 0).all()

    # Against the model that scored the claims: its full contributions plus the base value
    # are its margin within 1e-6, its probability is the margin's sigmoid, and the table's
    # reasons are its largest positive contributions.
    version = flagged["model_version"].iloc[0]
    settings = MlflowSettings.local(trained_project.mlflow_dir)
    settings.activate()
    model = mlflow.pyfunc.load_model(
        f"models:/{settings.classifier_name}/{version}"
    ).unwrap_python_model()
    features = frame(trained_project, "select * from main_features.fct_claim_features")
    sample = features.loc[features["claim_id"].isin(flagged["claim_id"].head(200))]
    sample = sample.reset_index(drop=True)
    values, base = model.explain(sample)
    margin = model.margin(sample)
    # within 1e-6, relative where the margin exceeds 1: XGBoost computes both in float32
    # (an ulp of 4.0 is 4.8e-7, and 23 terms add up their rounding)
    gap = np.abs(values.sum(axis=1).to_numpy() + base - margin)
    assert np.all(gap <= 1e-6 * np.maximum(1.0, np.abs(margin))), gap.max()
    assert np.allclose(1 / (1 + np.exp(-margin)), model.predict(None, sample), atol=1e-9)
    for row, claim_id in enumerate(sample["claim_id"]):
        expected = values.iloc[row].sort_values(ascending=False, kind="stable")
        expected = expected[expected > 0].head(TOP_REASONS)
        mine = ordered.loc[ordered["claim_id"] == claim_id]
        assert list(mine["feature_name"]) == list(expected.index)
        assert np.allclose(mine["contribution"], expected.to_numpy(), atol=1e-9)


def test_reasons_are_worded_from_the_templates(trained_project: DbtProject) -> None:
    spec = load_feature_spec()
    templates = frame(trained_project, "select * from main_reference.ref_reason_templates")
    # every model input has its sentence, and each sentence has the value's place
    assert sorted(templates["feature_name"]) == sorted(spec.inputs)
    assert templates["reason_template"].str.contains("{value}", regex=False).all()
    explained = frame(trained_project, "select * from main_siu.fraud_score_explanations")
    assert len(explained) > 0
    assert not explained["reason"].str.contains("{value}", regex=False).any()
    worded = explained.merge(templates, on="feature_name")
    expected = [
        f"{feature} is missing (too little history to compute it)"
        if value == "missing"
        else template.replace("{value}", value)
        for feature, template, value in zip(
            worded["feature_name"], worded["reason_template"], worded["feature_value"], strict=True
        )
    ]
    assert list(worded["reason"]) == expected
    # no sentence reads a missing value as a number ("missing of the provider's ...")
    assert not explained["reason"].str.contains("missing of|missing USD", regex=True).any()


def test_the_queue_ranks_the_flagged_claims_by_expected_recoverable_amount(
    trained_project: DbtProject,
) -> None:
    queue = frame(trained_project, "select * from main_siu.siu_review_queue")
    scores = frame(trained_project, "select * from main_ml.fraud_scores where is_flagged")
    paid = frame(
        trained_project, "select claim_id, total_paid_amount from main_features.fct_claim_features"
    )
    capacity = frame(
        trained_project,
        "select threshold_value from main_reference.monitoring_thresholds "
        "where threshold_name = 'siu_review_capacity'",
    )["threshold_value"].iloc[0]
    assert sorted(queue["claim_id"]) == sorted(scores["claim_id"])
    expected = scores.merge(paid, on="claim_id")
    expected["amount"] = expected["fraud_probability"] * expected["total_paid_amount"].astype(float)
    expected = expected.sort_values(
        ["amount", "fraud_probability", "claim_id"], ascending=[False, False, True]
    )
    ranked = queue.sort_values("queue_rank")
    assert list(ranked["claim_id"]) == list(expected["claim_id"])
    assert list(ranked["queue_rank"]) == list(range(1, len(ranked) + 1))
    assert np.allclose(ranked["expected_recoverable_amount"], expected["amount"])
    assert ranked["is_within_capacity"].sum() == min(int(capacity), len(ranked))
    assert ranked["is_within_capacity"].iloc[: int(capacity)].all()
    reasons = frame(
        trained_project,
        "select claim_id, reason from main_siu.fraud_score_explanations where reason_rank = 1",
    )
    top = ranked.merge(reasons, on="claim_id")
    assert (top["reason_1"] == top["reason"]).all()


def test_a_flagged_claim_of_a_scheme_names_the_schemes_feature_among_its_reasons(
    trained_project: DbtProject,
) -> None:
    explained = frame(
        trained_project,
        "select e.claim_id, e.feature_name, g.scheme "
        "from main_ml.ml_score_contributions e "
        "join main_staging.stg_claims__fraud_ground_truth g using (claim_id) "
        "where g.is_fraud",
    )
    explained["hit"] = [
        feature in SCHEME_SIGNATURES[scheme]
        for feature, scheme in zip(explained["feature_name"], explained["scheme"], strict=True)
    ]
    share = (
        explained.groupby(["scheme", "claim_id"])["hit"]
        .any()
        .groupby("scheme")
        .agg(["mean", "size"])
    )
    print("share of flagged claims whose scheme's feature is a top-3 reason:")
    print(share.to_string())
    for scheme in EXPLAINED_SCHEMES:
        assert share.loc[scheme, "size"] >= 10, f"too few flagged {scheme} claims: {share}"
        assert share.loc[scheme, "mean"] > 0.5, f"{scheme}: {share.loc[scheme].to_dict()}"
