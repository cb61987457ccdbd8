"""Tests of the tree autoencoder: broken feature relationships score high, exact formula,
nulls, unseen levels, determinism, sampling and pickling."""

from __future__ import annotations

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from ml_fixtures import project_spec, synthetic_claims

from claims_fraud.features.spec import FeatureSpec, feature_matrix
from claims_fraud.ml.autoencoder import AutoencoderConfig, TreeAutoencoder

SPEC = FeatureSpec(
    numeric=("a", "b", "c"),
    boolean=("big",),
    categorical=("side",),
    protected=(),
)
SMALL = AutoencoderConfig(n_rounds=30, max_depth=4)


def related(n: int, seed: int) -> pd.DataFrame:
    """b = 2a, c = a + b (+ small noise), big = a > 1, side = 'pos' when b > 0 else 'neg'."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 2 * a + rng.normal(scale=0.1, size=n)
    c = a + b + rng.normal(scale=0.1, size=n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": c,
            "big": (a > 1).astype("float64"),
            "side": pd.Categorical(np.where(b > 0, "pos", "neg")),
        }
    )


@pytest.fixture(scope="module")
def fitted() -> TreeAutoencoder:
    return TreeAutoencoder(SMALL).fit(related(3000, seed=1), SPEC)


def test_broken_relationships_score_higher_than_normal_rows(fitted: TreeAutoencoder) -> None:
    normal = related(300, seed=2)
    broken = related(30, seed=3)
    broken["b"] = -2 * broken["a"]  # every relation with b is broken, marginals look normal
    normal_scores, broken_scores = fitted.score(normal), fitted.score(broken)
    assert np.median(broken_scores) > 10 * np.median(normal_scores)
    assert np.mean(broken_scores > np.quantile(normal_scores, 0.95)) > 0.9


def test_score_is_the_mean_of_capped_squared_standardised_residuals(
    fitted: TreeAutoencoder,
) -> None:
    frame = related(50, seed=4)
    errors = fitted.feature_errors(frame)
    assert list(errors.columns) == ["a", "b", "c", "big", "side"]
    assert np.allclose(fitted.score(frame), errors.mean(axis=1))
    # Recompute feature c by hand: e = min(((c - f_c(a, b, big, side)) / s_c)^2, cap).
    scorer = fitted.scorer()
    prepared = scorer.prepare(frame)
    model = scorer.models["c"]
    predicted = model.booster.predict(scorer.dmatrix(prepared, "c"))
    expected = np.minimum(((frame["c"] - predicted) / fitted.scales["c"]) ** 2, SMALL.cap)
    assert np.allclose(errors["c"], expected)
    far = frame.head(1).assign(a=1e6)
    assert fitted.feature_errors(far).to_numpy().max() <= SMALL.cap


def test_scales_are_robust_and_exposed(fitted: TreeAutoencoder) -> None:
    assert fitted.feature_columns == ("a", "b", "c", "big", "side")
    assert set(fitted.scales) == set(fitted.feature_columns)
    assert all(scale > 0 for scale in fitted.scales.values())
    # b and c are noise (sd 0.1) around a function of the others: scale near 0.1, not sd(b) ~ 2.
    assert 0.03 < fitted.scales["b"] < 0.3
    assert fitted.scale_methods["big"] == "std"
    assert fitted.skipped_features == {}
    assert fitted.n_fit_rows == 3000
    assert fitted.categories == {"side": ["neg", "pos"]}


def test_null_target_contributes_zero_and_null_inputs_are_fine(fitted: TreeAutoencoder) -> None:
    frame = related(5, seed=5)
    frame.loc[0, "c"] = np.nan
    frame.loc[1, "side"] = np.nan
    errors = fitted.feature_errors(frame)
    assert errors.loc[0, "c"] == 0.0
    assert errors.loc[1, "side"] == 0.0
    assert np.isfinite(fitted.score(frame)).all()


def test_unseen_level_is_maximal_surprise(fitted: TreeAutoencoder) -> None:
    frame = related(3, seed=6)
    frame["side"] = frame["side"].astype(object)
    frame.loc[0, "side"] = "sideways"
    errors = fitted.feature_errors(frame)
    expected = min((1.0 / fitted.scales["side"]) ** 2, SMALL.cap)
    assert errors.loc[0, "side"] == pytest.approx(expected)


def test_rows_with_null_target_are_left_out_of_that_fit() -> None:
    frame = related(1000, seed=7)
    frame.loc[:499, "c"] = np.nan
    model = TreeAutoencoder(SMALL).fit(frame, SPEC)
    assert "c" in model.scales
    assert np.isfinite(model.score(frame)).all()


def test_constant_and_single_level_features_are_skipped_and_recorded() -> None:
    frame = related(500, seed=8).assign(big=1.0, side=pd.Categorical(["pos"] * 500))
    model = TreeAutoencoder(SMALL).fit(frame, SPEC)
    assert set(model.skipped_features) == {"big", "side"}
    assert set(model.scales) == {"a", "b", "c"}
    assert model.feature_errors(frame).columns.tolist() == ["a", "b", "c"]


def test_deterministic_for_a_seed_and_sampled_to_sample_size() -> None:
    frame = related(2000, seed=9)
    config = AutoencoderConfig(n_rounds=20, max_depth=3, sample_size=600, seed=5)
    first = TreeAutoencoder(config).fit(frame, SPEC)
    second = TreeAutoencoder(config).fit(frame, SPEC)
    assert first.n_fit_rows == 600
    assert np.array_equal(first.score(frame), second.score(frame))
    other = TreeAutoencoder(AutoencoderConfig(n_rounds=20, max_depth=3, sample_size=600, seed=6))
    assert not np.array_equal(other.fit(frame, SPEC).score(frame), first.score(frame))


def test_thread_count_does_not_change_the_result() -> None:
    frame = related(1500, seed=11)
    one = TreeAutoencoder(AutoencoderConfig(n_rounds=15, max_depth=3, threads=1)).fit(frame, SPEC)
    three = TreeAutoencoder(AutoencoderConfig(n_rounds=15, max_depth=3, threads=3)).fit(frame, SPEC)
    assert list(three.scales) == list(one.scales) == list(SPEC.inputs)
    assert three.scales == one.scales
    assert np.array_equal(three.score(frame), one.score(frame))


def test_cloudpickle_round_trip(fitted: TreeAutoencoder) -> None:
    frame = related(100, seed=10)
    restored = cloudpickle.loads(cloudpickle.dumps(fitted))
    assert np.array_equal(restored.score(frame), fitted.score(frame))
    assert restored.scales == fitted.scales


def test_fits_the_project_features_from_raw_or_matrix_frames() -> None:
    spec = project_spec()
    claims = synthetic_claims(800, seed=12, spec=spec)
    model = TreeAutoencoder(AutoencoderConfig(n_rounds=10, max_depth=3)).fit(
        feature_matrix(claims, spec), spec
    )
    assert model.feature_columns == spec.inputs
    from_matrix = model.score(feature_matrix(claims, spec))
    assert np.allclose(model.score(claims), from_matrix)  # raw bool/str columns work too
    assert from_matrix.shape == (800,)


def test_config_and_unfitted_errors() -> None:
    with pytest.raises(ValueError, match="n_round"):
        AutoencoderConfig.from_dict({"n_round": 3})
    assert AutoencoderConfig.from_dict({"seed": None, "cap": 50.0}).cap == 50.0
    with pytest.raises(ValueError, match="sample_size"):
        AutoencoderConfig(sample_size=0)
    with pytest.raises(ValueError, match="not fitted"):
        TreeAutoencoder().score(related(3, seed=0))


def test_scoring_in_chunks_gives_the_scores_of_scoring_at_once(
    fitted: TreeAutoencoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = related(50, seed=5)
    at_once = fitted.score(frame)
    monkeypatch.setattr("claims_fraud.portable_model.SCORE_CHUNK_ROWS", 7)  # 8 chunks, 1 short
    assert np.array_equal(fitted.score(frame), at_once)
    assert fitted.score(frame.iloc[0:0]).shape == (0,)
