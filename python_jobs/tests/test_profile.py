"""The reference bins training chooses (claims_fraud.ml.profile) and the binning rules, checked
on the tests' oracle (psi_oracle: bin_values, reference_counts), which the SQL that counts
in production (macro feature_bin_counts) is compared with in integration/test_monitoring_sql.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml_fixtures import project_spec, synthetic_claims
from psi_oracle import bin_values, reference_counts

from claims_fraud.features.spec import FeatureSpec, feature_matrix
from claims_fraud.ml.profile import (
    BIN_COLUMNS,
    SCORE_COLUMNS,
    reference_bins,
    score_quantile_grid,
    window_scores,
)

SPEC = FeatureSpec(numeric=("amount",), boolean=("dup",), categorical=("kind",), protected=())


def small_frame() -> pd.DataFrame:
    """amount: 0 for 50 rows, then 1..50, then 10 nulls; dup: 30% true, 5 nulls; kind: a/b and
    one 'rare' (1 row of 110 < 1%), 4 nulls."""
    amount = [0.0] * 50 + [float(v) for v in range(1, 51)] + [np.nan] * 10
    dup: list[object] = [True] * 33 + [False] * 72 + [None] * 5
    kind: list[object] = ["a"] * 60 + ["b"] * 45 + ["rare"] + [None] * 4
    return pd.DataFrame({"amount": amount, "dup": dup, "kind": kind})


def reference_profile(frame: pd.DataFrame, spec: FeatureSpec, score, **kwargs) -> pd.DataFrame:
    """The bins training chooses, counted by the oracle (what ml_reference_profile holds)."""
    return reference_counts(frame, reference_bins(frame, spec, score, **kwargs), score)


@pytest.fixture(scope="module")
def profile() -> pd.DataFrame:
    return reference_profile(small_frame(), SPEC, score=None)


def rows_of(profile: pd.DataFrame, name: str) -> pd.DataFrame:
    return profile[profile["feature_name"] == name].reset_index(drop=True)


def test_columns_and_types() -> None:
    bins = reference_bins(small_frame(), SPEC, score=None)
    assert list(bins.columns) == list(BIN_COLUMNS)  # bins only: SQL counts them
    assert bins["bin_index"].dtype == "int64"
    assert bins["lower_bound"].dtype == "float64"
    assert set(bins["feature_type"]) == {"numeric", "categorical"}


def test_numeric_edges_are_merged_deciles_with_open_outer_bins(profile: pd.DataFrame) -> None:
    amount = rows_of(profile, "amount")
    values = np.array([0.0] * 50 + list(range(1, 51)), dtype=float)
    edges = np.unique(np.quantile(values, np.arange(1, 10) / 10, method="linear"))
    assert edges[0] == 0.0  # deciles 0.1..0.4 are all 0: merged into one edge
    assert len(edges) == 6
    ranges = amount[amount["bin_kind"] == "range"]
    assert len(ranges) == len(edges) + 1
    assert np.isnan(ranges["lower_bound"].iloc[0])
    assert np.isnan(ranges["upper_bound"].iloc[-1])
    assert np.allclose(ranges["upper_bound"].iloc[:-1], edges)
    assert np.allclose(ranges["lower_bound"].iloc[1:], edges)
    assert amount["bin_kind"].tolist()[-1] == "null"
    assert amount["bin_index"].tolist() == list(range(len(amount)))


def test_numeric_counts_follow_the_right_closed_rule(profile: pd.DataFrame) -> None:
    amount = rows_of(profile, "amount")
    # (-inf, 0] holds the 50 zeros; the null bin the 10 nulls.
    assert amount["reference_count"].iloc[0] == 50
    assert amount["reference_count"].iloc[-1] == 10
    assert amount["reference_share"].iloc[-1] == pytest.approx(10 / 110)


def test_bin_values_on_exact_edges_and_outliers(profile: pd.DataFrame) -> None:
    amount = rows_of(profile, "amount")
    ranges = amount[amount["bin_kind"] == "range"]
    edges = ranges["upper_bound"].iloc[:-1].to_numpy()
    last_range, null_bin = len(ranges) - 1, len(amount) - 1
    values = pd.Series(
        [
            *(edges[0], np.nextafter(edges[0], np.inf), edges[2], edges[-1] + 1e-9),
            *(-1e12, 1e12, np.inf, -np.inf, np.nan, None),
        ],
        dtype=object,
    )
    assert bin_values(values, amount).tolist() == [
        0,  # exactly on e1 -> (-inf, e1]
        1,  # just above e1 -> (e1, e2]
        2,  # exactly on e3 -> (e2, e3]
        last_range,  # above the last edge -> (ek, +inf)
        0,  # far below the reference -> the open first bin
        last_range,  # far above -> the open last bin, no new bin
        last_range,
        0,
        null_bin,
        null_bin,
    ]


def test_bin_values_matches_a_binary_search_over_the_edges(profile: pd.DataFrame) -> None:
    amount = rows_of(profile, "amount")
    ranges = amount[amount["bin_kind"] == "range"]
    edges = ranges["upper_bound"].to_numpy()[:-1]
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(-5, 60, 500), edges, rng.choice(edges, 50)])
    # searchsorted 'left': the first edge >= v, i.e. the number of edges strictly below v
    expected = np.searchsorted(edges, values, side="left")
    assert bin_values(pd.Series(values), amount).tolist() == expected.tolist()


def test_categorical_levels_other_and_null(profile: pd.DataFrame) -> None:
    kind = rows_of(profile, "kind")
    assert kind["bin_kind"].tolist() == ["level", "level", "other", "null"]
    assert kind["level"].tolist()[:3] == ["a", "b", "OTHER"]
    assert kind["reference_count"].tolist() == [60, 45, 1, 4]  # 'rare' < 1% pooled in OTHER
    values = pd.Series(["a", "b", "rare", "never_seen", None, "A"])
    assert bin_values(values, kind).tolist() == [0, 1, 2, 2, 3, 2]  # exact, case-sensitive


def test_other_bin_is_present_even_when_empty() -> None:
    frame = small_frame().assign(kind=["a", "b"] * 55)
    kind = rows_of(reference_profile(frame, SPEC, None), "kind")
    other = kind[kind["bin_kind"] == "other"]
    assert other["level"].tolist() == ["OTHER"]
    assert other["reference_count"].tolist() == [0]
    assert bin_values(pd.Series(["c"]), kind).tolist() == [int(other["bin_index"].iloc[0])]


def test_boolean_levels_are_true_false_whatever_the_input_type(profile: pd.DataFrame) -> None:
    dup = rows_of(profile, "dup")
    assert dup["level"].tolist()[:3] == ["false", "true", "OTHER"]
    assert dup["reference_count"].tolist() == [72, 33, 0, 5]
    assert bin_values(pd.Series([True, False, None], dtype=object), dup).tolist() == [1, 0, 3]
    assert bin_values(pd.Series([1.0, 0.0, np.nan]), dup).tolist() == [1, 0, 3]
    assert bin_values(pd.Series([True, False, pd.NA], dtype="boolean"), dup).tolist() == [1, 0, 3]


def test_shares_sum_to_one_and_match_bin_values() -> None:
    spec = project_spec()
    claims = synthetic_claims(1000, seed=5, spec=spec)
    score = np.random.default_rng(1).random(1000)
    score[:7] = np.nan
    profile = reference_profile(claims, spec, score)
    sums = profile.groupby("feature_name")["reference_share"].sum()
    assert np.allclose(sums, 1.0)
    assert set(sums.index) == {*spec.inputs, "fraud_probability"}
    for name in spec.inputs:
        rows = rows_of(profile, name)
        counts = np.bincount(bin_values(claims[name], rows), minlength=len(rows))
        assert counts.tolist() == rows["reference_count"].tolist(), name
    # The raw table and its feature_matrix give the same profile.
    from_matrix = reference_profile(feature_matrix(claims, spec), spec, score)
    pd.testing.assert_frame_equal(from_matrix, profile)


def test_score_gets_twenty_quantile_bins_plus_null() -> None:
    rng = np.random.default_rng(2)
    score = rng.random(2000)
    score[:10] = np.nan
    frame = small_frame().sample(2000, replace=True, random_state=1).reset_index(drop=True)
    profile = reference_profile(frame, SPEC, score, score_name="anomaly_score")
    rows = rows_of(profile, "anomaly_score")
    assert set(rows["feature_type"]) == {"score"}
    assert (rows["bin_kind"] == "range").sum() == 20
    assert rows["bin_kind"].iloc[-1] == "null"
    assert rows["reference_count"].iloc[-1] == 10
    assert np.allclose(rows["reference_share"].iloc[:-1], 1990 / 2000 / 20, atol=0.001)
    # 75% ties at 0: the 14 edges at q = 0.05..0.70 are all 0 and merge into one, q = 0.75
    # (interpolated just above 0) .. 0.95 stay: 6 edges, 7 range bins.
    tied = np.where(np.arange(2000) < 1500, 0.0, rng.random(2000))
    tied_rows = rows_of(reference_profile(frame, SPEC, tied), "fraud_probability")
    assert (tied_rows["bin_kind"] == "range").sum() == 7
    assert tied_rows["upper_bound"].iloc[0] == 0.0
    assert tied_rows["reference_count"].iloc[0] == 1500


def test_score_quantile_grid() -> None:
    score = np.concatenate([np.arange(101, dtype=float), [np.nan]])
    grid = score_quantile_grid(score)
    assert list(grid.columns) == ["quantile", "value"]
    assert len(grid) == 101
    assert grid["quantile"].iloc[0] == 0.0
    assert grid["quantile"].iloc[-1] == 1.0
    assert np.allclose(grid["value"], np.arange(101))  # quantile i/100 of 0..100 is i
    assert len(score_quantile_grid(score, n=10)) == 11
    with pytest.raises(ValueError, match="non-null"):
        score_quantile_grid([np.nan])


def test_all_null_numeric_has_one_open_range_bin() -> None:
    frame = small_frame().assign(amount=np.nan)
    amount = rows_of(reference_profile(frame, SPEC, None), "amount")
    assert amount["bin_kind"].tolist() == ["range", "null"]
    assert amount["reference_count"].tolist() == [0, 110]
    assert bin_values(pd.Series([5.0]), amount).tolist() == [0]


def test_bin_values_rejects_rows_of_several_features(profile: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="exactly one feature"):
        bin_values(pd.Series([1.0]), profile)


def test_window_scores_flag_at_or_above_the_threshold() -> None:
    scores = window_scores(
        pd.Series(["c1", "c2"]),
        np.array([0.1, 0.5]),
        pd.Series(["c3"]),
        np.array([0.49999]),
        flag_threshold=0.5,
    )
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["scoring_window"].tolist() == ["training", "training", "validation"]
    assert scores["is_flagged"].tolist() == [False, True, False]
    with pytest.raises(ValueError, match="validation window: 2 scores for 1 claims"):
        window_scores(pd.Series(["c1"]), np.array([0.1]), pd.Series(["c3"]), np.ones(2), 0.5)
