"""Tests of the evaluation helpers: flag threshold, metrics, per-scheme recall, IsolationForest."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from claims_fraud.ml.evaluate import (
    classification_metrics,
    flag_threshold,
    flag_top,
    isolation_forest_baseline,
    per_scheme_recall,
    provider_bootstrap_pr_auc,
)


def test_flag_threshold_flags_exactly_the_budget_with_distinct_scores() -> None:
    scores = np.arange(1, 101, dtype=float)  # 1..100
    assert flag_threshold(scores, 0.05) == 96.0
    assert (scores >= flag_threshold(scores, 0.05)).sum() == 5
    rng = np.random.default_rng(0)
    many = rng.random(1000)
    assert flag_top(many, 0.05).sum() == 50
    assert flag_top(many, 0.10).sum() == 100


def test_flag_threshold_is_a_real_score_and_ties_are_all_flagged() -> None:
    scores = np.array([0.0] * 90 + [1.0] * 10)
    threshold = flag_threshold(scores, 0.05)
    assert threshold == 1.0  # never a value between two scores
    assert flag_top(scores, 0.05).sum() == 10  # the whole tie at the cut is flagged


def test_flag_threshold_ignores_nan_and_rejects_bad_budgets() -> None:
    scores = np.array([np.nan, 1.0, 2.0, 3.0, 4.0])
    assert flag_threshold(scores, 0.25) == 4.0
    assert not flag_top(scores, 0.25)[0]
    for budget in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="flag_budget"):
            flag_threshold(scores, budget)
    with pytest.raises(ValueError, match="non-NaN"):
        flag_threshold([np.nan], 0.5)


def test_classification_metrics_hand_computed() -> None:
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    metrics = classification_metrics(y, s, flag_budget=0.25)
    # ROC: of the 4 (positive, negative) pairs, 3 are ordered right.
    assert metrics["roc_auc"] == pytest.approx(0.75)
    # AP: recall 0.5 at precision 1 (0.8), recall 1 at precision 2/3 (0.35).
    assert metrics["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # Threshold = quantile 0.75 'higher' = 0.8: one flag, a true positive.
    assert metrics["precision_at_budget"] == 1.0
    assert metrics["recall_at_budget"] == 0.5
    assert metrics["brier"] == pytest.approx((0.01 + 0.16 + 0.65**2 + 0.04) / 4)
    assert metrics["n"] == 4.0
    assert metrics["positives"] == 2.0


def test_classification_metrics_agree_with_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.1).astype(int)
    s = np.clip(0.3 * y + rng.random(2000) * 0.7, 0, 1)
    metrics = classification_metrics(y, s, flag_budget=0.05)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(y, s))
    assert metrics["brier"] == pytest.approx(brier_score_loss(y, s))
    flagged = s >= np.quantile(s, 0.95, method="higher")
    assert metrics["precision_at_budget"] == pytest.approx(y[flagged].mean())
    assert metrics["recall_at_budget"] == pytest.approx(y[flagged].sum() / y.sum())


def test_classification_metrics_single_class_gives_nan_not_an_error() -> None:
    metrics = classification_metrics([0, 0, 0], [0.1, 0.5, 0.9], flag_budget=0.3)
    assert math.isnan(metrics["roc_auc"])
    assert math.isnan(metrics["pr_auc"])
    assert math.isnan(metrics["recall_at_budget"])
    assert metrics["precision_at_budget"] == 0.0
    assert metrics["positives"] == 0.0
    all_fraud = classification_metrics([1, 1], [0.2, 0.9], flag_budget=0.5)
    assert math.isnan(all_fraud["roc_auc"])
    assert all_fraud["recall_at_budget"] == 0.5


def test_classification_metrics_scores_not_probabilities_have_no_brier() -> None:
    metrics = classification_metrics([0, 1, 0, 1], [-3.0, 7.0, 1.0, 2.0], 0.5, probabilities=False)
    assert math.isnan(metrics["brier"])
    assert metrics["roc_auc"] == 1.0


def test_classification_metrics_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="length"):
        classification_metrics([0, 1], [0.1], 0.5)
    with pytest.raises(ValueError, match="0 and 1"):
        classification_metrics([0, 2], [0.1, 0.2], 0.5)


def test_per_scheme_recall() -> None:
    schemes = pd.Series(["upcoding", None, "upcoding", "phantom", "upcoding", None, "phantom"])
    flagged = np.array([True, True, False, False, True, False, False])
    table = per_scheme_recall(schemes, flagged)
    assert list(table.columns) == ["scheme", "claims", "flagged", "recall"]
    assert table["scheme"].tolist() == ["phantom", "upcoding"]
    assert table["claims"].tolist() == [2, 3]
    assert table["flagged"].tolist() == [0, 2]
    assert table["recall"].tolist() == pytest.approx([0.0, 2 / 3])


def test_per_scheme_recall_without_fraud_and_with_wrong_length() -> None:
    empty = per_scheme_recall(pd.Series([None, None]), np.array([True, False]))
    assert empty.empty
    assert list(empty.columns) == ["scheme", "claims", "flagged", "recall"]
    with pytest.raises(ValueError, match="flagged"):
        per_scheme_recall(pd.Series(["a"]), np.array([True, False]))


def _iforest_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[:5] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "y": rng.normal(size=n),
            "flag": (rng.random(n) < 0.5).astype("float64"),
            "kind": pd.Series(rng.choice(["a", "b"], n)).astype("category"),
        }
    )


def test_isolation_forest_scores_outliers_higher_and_is_deterministic() -> None:
    train = _iforest_frame(2000, 0)
    score = _iforest_frame(200, 1)
    score.loc[:9, ["x", "y"]] = 8.0  # far outliers
    score["kind"] = score["kind"].astype(object)
    score.loc[10, "kind"] = "never_seen"  # unseen category
    score.loc[11, "kind"] = None
    first = isolation_forest_baseline(train, score, seed=7)
    second = isolation_forest_baseline(train, score, seed=7)
    assert np.array_equal(first, second)
    assert np.isfinite(first).all()
    assert first[:10].min() > np.quantile(first[12:], 0.95)


def test_isolation_forest_needs_the_training_columns() -> None:
    train = _iforest_frame(100, 0)
    with pytest.raises(ValueError, match="kind"):
        isolation_forest_baseline(train, train.drop(columns="kind"), seed=1)


def _resampled_pr_auc(y: np.ndarray, s: np.ndarray, providers: np.ndarray, rng) -> float:
    """Oracle: one provider bootstrap draw with the claims of each picked provider repeated."""
    names = pd.unique(providers)
    picked = names[rng.integers(0, names.size, names.size)]
    rows = np.concatenate([np.flatnonzero(providers == name) for name in picked])
    return float(average_precision_score(y[rows], s[rows]))


def test_provider_bootstrap_pr_auc_is_the_pr_auc_of_the_providers_resampled() -> None:
    rng = np.random.default_rng(3)
    n = 400
    providers = np.array([f"P{i}" for i in rng.integers(0, 25, n)], dtype=object)
    y = (rng.random(n) < 0.2).astype(int)
    s = y * 0.6 + rng.random(n)
    draws = provider_bootstrap_pr_auc(y, s, providers, 30, seed=11)
    # the same picks (pd.factorize numbers providers in order of appearance, as pd.unique does)
    oracle_rng = np.random.default_rng(11)
    expected = [_resampled_pr_auc(y, s, providers, oracle_rng) for _ in range(30)]
    assert np.allclose(draws, expected)
    assert np.array_equal(draws, provider_bootstrap_pr_auc(y, s, providers, 30, seed=11))
    assert not np.array_equal(draws, provider_bootstrap_pr_auc(y, s, providers, 30, seed=12))


def test_provider_bootstrap_spreads_wider_when_a_providers_claims_go_together() -> None:
    """Half the fraudulent providers are caught whole and half missed whole: drawing providers
    moves the PR-AUC far more than drawing the same claims one by one."""
    rng = np.random.default_rng(5)
    providers = np.repeat([f"P{i}" for i in range(40)], 50)
    fraudulent = np.isin(providers, [f"P{i}" for i in range(8)])
    y = (fraudulent & (rng.random(providers.size) < 0.5)).astype(int)
    caught = np.isin(providers, [f"P{i}" for i in range(4)])
    s = rng.random(providers.size) + 2.0 * (y * caught)
    clustered = provider_bootstrap_pr_auc(y, s, providers, 200, seed=1)
    by_claim = provider_bootstrap_pr_auc(y, s, np.arange(providers.size), 200, seed=1)
    assert np.nanstd(clustered) > 2 * np.nanstd(by_claim)


def test_provider_bootstrap_draws_of_a_single_class_are_nan_and_bad_input_is_named() -> None:
    y = np.array([1, 0, 0, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.3])
    draws = provider_bootstrap_pr_auc(y, scores, ["A", "B", "B", "B"], 50, 0)
    # B picked twice (1 in 4): no fraud; A picked twice (1 in 4): no clean claim
    assert 0 < np.isnan(draws).sum() < draws.size
    assert np.nanmax(draws) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        provider_bootstrap_pr_auc(y, np.ones(3), ["A"] * 4, 5, 0)
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        provider_bootstrap_pr_auc(y, np.ones(4), ["A"] * 4, 0, 0)
