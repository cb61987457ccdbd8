"""Tests of the supervised training core: config, labels, time split, XGBoost + CatBoost."""

from __future__ import annotations

import pickle
import threading
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from ml_fixtures import project_spec, synthetic_claims

from claims_fraud.features.spec import FeatureSpec, feature_matrix
from claims_fraud.ml import train as train_module
from claims_fraud.ml.train import (
    Candidate,
    Split,
    TrainingConfig,
    best_candidate,
    label_claims,
    predict_probability,
    time_split,
    train_candidates,
)

FAST = TrainingConfig(max_rounds=60, early_stopping_rounds=10, learning_rate=0.15, max_depth=4)


@pytest.fixture(scope="module")
def spec() -> FeatureSpec:
    return project_spec()


@pytest.fixture(scope="module")
def split() -> Split:
    return time_split(synthetic_claims(3000, seed=11), 0.25)


@pytest.fixture(scope="module")
def candidates(split: Split, spec: FeatureSpec) -> list[Candidate]:
    return train_candidates(split, spec, FAST)


# --- config -------------------------------------------------------------------------------------


def test_config_defaults() -> None:
    config = TrainingConfig()
    assert (config.seed, config.validation_share, config.flag_budget) == (42, 0.2, 0.05)
    assert (config.max_rounds, config.early_stopping_rounds, config.max_depth) == (400, 30, 6)
    assert config.learning_rate == 0.08
    assert config.threads == 2
    assert config.threads_per_model == 1
    assert TrainingConfig(threads=1).threads_per_model == 1
    assert TrainingConfig(threads=8).threads_per_model == 4


def test_config_from_dict_ignores_none_and_names_unknown_keys() -> None:
    config = TrainingConfig.from_dict(
        {"seed": 7, "max_rounds": None, "xgboost_params": {"min_child_weight": 3}}
    )
    assert config.seed == 7
    assert config.max_rounds == 400
    assert config.xgboost_params == {"min_child_weight": 3}
    with pytest.raises(ValueError, match="learning_rat, max_dept"):
        TrainingConfig.from_dict({"learning_rat": 0.1, "max_dept": 3, "seed": 1})


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="validation_share"):
        TrainingConfig(validation_share=1.0)
    with pytest.raises(ValueError, match="threads"):
        TrainingConfig(threads=0)
    with pytest.raises(ValueError, match="flag_budget"):
        TrainingConfig(flag_budget=0)


def test_config_is_frozen_and_copies_param_dicts() -> None:
    params = {"depth_hint": 1}
    config = TrainingConfig(catboost_params=params)
    params["depth_hint"] = 2
    assert config.catboost_params == {"depth_hint": 1}
    with pytest.raises(AttributeError):
        config.seed = 1  # type: ignore[misc]


# --- labels -------------------------------------------------------------------------------------


def test_label_claims_maps_outcomes_and_drops_inconclusive() -> None:
    features = pd.DataFrame({"claim_id": ["a", "b", "c", "d", "e"], "x": [1, 2, 3, 4, 5]})
    investigations = pd.DataFrame(
        {
            "claim_id": ["a", "b", "c", "z"],
            "investigation_closed_date": [date(2024, 5, 1)] * 4,
            "outcome": ["confirmed_fraud", "no_fraud", "inconclusive", "confirmed_fraud"],
        }
    )
    labelled = label_claims(features, investigations)
    assert labelled["claim_id"].tolist() == ["a", "b"]  # c inconclusive, z has no features
    assert labelled["label"].tolist() == [1, 0]
    assert labelled["x"].tolist() == [1, 2]


def test_label_claims_latest_conclusive_investigation_wins() -> None:
    features = pd.DataFrame({"claim_id": ["a"]})
    investigations = pd.DataFrame(
        {
            "claim_id": ["a", "a", "a"],
            "investigation_closed_date": [date(2024, 6, 1), date(2024, 2, 1), date(2024, 9, 1)],
            "outcome": ["confirmed_fraud", "no_fraud", "inconclusive"],
        }
    )
    labelled = label_claims(features, investigations)
    assert len(labelled) == 1
    assert labelled["label"].iloc[0] == 1


def test_label_claims_rejects_unknown_outcomes() -> None:
    features = pd.DataFrame({"claim_id": ["a"]})
    investigations = pd.DataFrame({"claim_id": ["a"], "outcome": ["maybe_fraud"]})
    with pytest.raises(ValueError, match="maybe_fraud"):
        label_claims(features, investigations)


# --- time split ---------------------------------------------------------------------------------


def test_time_split_cuts_on_a_date_without_overlap(split: Split) -> None:
    train_days = pd.to_datetime(split.train["claim_start_date"])
    valid_days = pd.to_datetime(split.valid["claim_start_date"])
    assert train_days.max() < valid_days.min()
    assert valid_days.min().date() == split.validation_start
    assert valid_days.max().date() == split.validation_end
    assert isinstance(split.validation_start, date)
    share = len(split.valid) / (len(split.train) + len(split.valid))
    assert 0.25 <= share < 0.27  # ceil(25%) plus at most the rest of the cut day
    assert not set(split.train["claim_id"]) & set(split.valid["claim_id"])


def test_time_split_never_splits_a_day() -> None:
    frame = pd.DataFrame(
        {
            "claim_start_date": [date(2024, 1, d) for d in (1, 1, 2, 2, 2, 2, 3, 3)],
            "label": [0, 1, 0, 1, 0, 1, 0, 1],
        }
    )
    split = time_split(frame, 0.3)  # ceil(2.4) = 3 most recent claims -> the cut falls on Jan 2
    assert split.validation_start == date(2024, 1, 2)
    assert len(split.valid) == 6
    assert len(split.train) == 2


def test_time_split_fails_clearly_on_a_single_class() -> None:
    frame = pd.DataFrame(
        {
            "claim_start_date": [date(2024, 1, d) for d in range(1, 11)],
            "label": [0, 1, 0, 1, 0, 1, 0, 1, 0, 0],
        }
    )
    with pytest.raises(ValueError, match=r"validation side .* single class"):
        time_split(frame, 0.2)


def test_time_split_share_is_not_inflated_by_float_noise() -> None:
    frame = pd.DataFrame(
        {"claim_start_date": [date(2024, 1, d) for d in range(1, 11)], "label": [0, 1] * 5}
    )
    split = time_split(frame, 0.3)  # 0.3 * 10 = 3.0000000000000004 in floating point
    assert len(split.valid) == 3
    assert split.validation_start == date(2024, 1, 8)


def test_time_split_fails_when_train_would_be_empty() -> None:
    frame = pd.DataFrame({"claim_start_date": [date(2024, 1, 1)] * 4, "label": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match="train side is empty"):
        time_split(frame, 0.5)


# --- training -----------------------------------------------------------------------------------


def test_train_candidates_returns_both_flavours_that_beat_random(
    candidates: list[Candidate], split: Split, spec: FeatureSpec
) -> None:
    assert [c.flavour for c in candidates] == ["xgboost", "catboost"]
    y_valid = split.valid["label"].to_numpy()
    for candidate in candidates:
        assert candidate.feature_columns == spec.inputs
        assert candidate.valid_probabilities.shape == (len(split.valid),)
        assert ((candidate.valid_probabilities >= 0) & (candidate.valid_probabilities <= 1)).all()
        # The label depends on 3 features; random ranking gives ROC 0.5, PR ~ the base rate.
        assert candidate.metrics["roc_auc"] > 0.8, candidate.flavour
        assert candidate.metrics["pr_auc"] > 2 * y_valid.mean(), candidate.flavour
        assert candidate.metrics["n"] == len(split.valid)
        assert candidate.train_seconds > 0
        assert 0 <= candidate.params["best_iteration"] < FAST.max_rounds


def test_train_candidates_params_record_what_was_used(
    candidates: list[Candidate], split: Split
) -> None:
    xgb, cat = candidates
    y = split.train["label"]
    assert xgb.params["scale_pos_weight"] == pytest.approx((y == 0).sum() / (y == 1).sum())
    assert xgb.params["enable_categorical"] is True
    assert xgb.params["tree_method"] == "hist"
    assert xgb.params["n_jobs"] == 1  # threads=2 shared by the two parallel fits
    assert cat.params["thread_count"] == 1
    assert cat.params["auto_class_weights"] == "Balanced"
    assert cat.params["allow_writing_files"] is False
    assert set(cat.params["cat_features"]) == set(project_spec().categorical) == {"claim_type"}


def test_train_candidates_is_deterministic(
    candidates: list[Candidate], split: Split, spec: FeatureSpec
) -> None:
    again = train_candidates(split, spec, FAST)
    for first, second in zip(candidates, again, strict=True):
        assert np.array_equal(first.valid_probabilities, second.valid_probabilities)
        assert first.params["best_iteration"] == second.params["best_iteration"]


def test_train_candidates_is_deterministic_with_several_threads(
    split: Split, spec: FeatureSpec
) -> None:
    config = replace(FAST, threads=4)  # 2 threads per model
    first, second = train_candidates(split, spec, config), train_candidates(split, spec, config)
    assert first[0].params["n_jobs"] == 2
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.valid_probabilities, b.valid_probabilities)


def test_train_candidates_fits_the_two_flavours_concurrently(
    monkeypatch: pytest.MonkeyPatch, split: Split, spec: FeatureSpec, candidates: list[Candidate]
) -> None:
    # Each fake fit waits for the other at a barrier: run one after the other, they would time
    # out (BrokenBarrierError) instead of meeting.
    barrier = threading.Barrier(2, timeout=10)
    threads: dict[str, str] = {}

    def fake_fit(flavour: str, candidate: Candidate):
        def fit(data, config):
            barrier.wait()
            threads[flavour] = threading.current_thread().name
            return candidate

        return fit

    monkeypatch.setattr(train_module, "_fit_xgboost", fake_fit("xgboost", candidates[0]))
    monkeypatch.setattr(train_module, "_fit_catboost", fake_fit("catboost", candidates[1]))
    result = train_candidates(split, spec, FAST)
    assert [c.flavour for c in result] == ["xgboost", "catboost"]
    assert threads["xgboost"] != threads["catboost"]


def test_train_candidates_seed_changes_the_model(split: Split, spec: FeatureSpec) -> None:
    config = replace(FAST, seed=3, catboost_params={"rsm": 0.5})
    other = train_candidates(split, spec, config)
    baseline = train_candidates(split, spec, replace(config, seed=4))
    assert not np.array_equal(other[1].valid_probabilities, baseline[1].valid_probabilities)


def test_predict_probability_matches_and_handles_unseen_and_null_levels(
    candidates: list[Candidate], split: Split, spec: FeatureSpec
) -> None:
    valid = feature_matrix(split.valid, spec)
    odd = split.valid.head(6).copy()
    odd["rendering_specialty"] = odd["rendering_specialty"].astype(object)
    odd.loc[odd.index[:2], "rendering_specialty"] = "never_seen_specialty"
    odd.loc[odd.index[2:4], "rendering_specialty"] = None
    odd_matrix = feature_matrix(odd, spec)
    for candidate in candidates:
        scores = predict_probability(candidate.flavour, candidate.model, valid)
        assert np.allclose(scores, candidate.valid_probabilities)
        # Extra and reordered columns are ignored.
        shuffled = valid[list(reversed(valid.columns))].assign(extra=1.0)
        assert np.allclose(
            predict_probability(candidate.flavour, candidate.model, shuffled), scores
        )
        odd_scores = predict_probability(candidate.flavour, candidate.model, odd_matrix)
        assert odd_scores.shape == (6,)
        assert np.isfinite(odd_scores).all()
        with pytest.raises(ValueError, match="claim_type"):
            predict_probability(
                candidate.flavour, candidate.model, valid.drop(columns="claim_type")
            )


def test_models_survive_pickling(candidates: list[Candidate], split: Split, spec: FeatureSpec):
    valid = feature_matrix(split.valid, spec)
    for candidate in candidates:
        model = pickle.loads(pickle.dumps(candidate.model))  # noqa: S301 (our own bytes)
        assert np.allclose(
            predict_probability(candidate.flavour, model, valid), candidate.valid_probabilities
        )


def test_train_candidates_needs_both_classes_in_train(split: Split, spec: FeatureSpec) -> None:
    one_class = Split(
        train=split.train.assign(label=0),
        valid=split.valid,
        validation_start=split.validation_start,
        validation_end=split.validation_end,
    )
    with pytest.raises(ValueError, match="train labels hold a single class"):
        train_candidates(one_class, spec, FAST)


def _candidate(flavour: str, pr_auc: float, roc_auc: float) -> Candidate:
    return Candidate(
        flavour=flavour,  # type: ignore[arg-type]
        model=None,
        params={},
        feature_columns=(),
        valid_probabilities=np.array([]),
        metrics={"pr_auc": pr_auc, "roc_auc": roc_auc},
        train_seconds=0.0,
    )


def test_best_candidate_by_pr_auc_then_roc_auc() -> None:
    xgb, cat = _candidate("xgboost", 0.60, 0.90), _candidate("catboost", 0.62, 0.80)
    assert best_candidate([xgb, cat]) is cat
    tie_xgb, tie_cat = _candidate("xgboost", 0.6, 0.91), _candidate("catboost", 0.6, 0.90)
    assert best_candidate([tie_cat, tie_xgb]) is tie_xgb
    nan_cat = _candidate("catboost", float("nan"), 0.99)
    assert best_candidate([nan_cat, xgb]) is xgb
    with pytest.raises(ValueError, match="no candidates"):
        best_candidate([])
