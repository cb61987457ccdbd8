"""The bins of the monitoring reference profile, chosen at training time.

Training chooses the bins of every model input and of the score on its training window and logs
them with the classifier's MLflow run (``reference/reference_profile.csv``). How many claims fall
in each bin is SQL's job, by one binning rule for the reference and the batches alike: the macro
feature_bin_counts (macros/monitoring) makes the reference counts of ml_reference_profile (over the
champion's training window) and the batch counts of mon_feature_psi_bins. The binning rules below
are the contract that macro implements (python_jobs/tests/psi_oracle.py is the test oracle).

Long table, one row per (feature, bin), columns ``BIN_COLUMNS``:

- ``bin_index``: 0-based within the feature; the ``null`` bin is always last.
- ``bin_kind``: ``range`` (numeric and score), ``level`` (one boolean/categorical level),
  ``other`` (pooled rare and unseen levels, ``level`` = 'OTHER'), ``null``.
- ``lower_bound`` / ``upper_bound``: range bins only; NaN means -inf / +inf.

Numeric features (``spec.numeric``) and the score: edges e_1 < ... < e_k are
``numpy.unique(numpy.quantile(finite non-null values, q, method="linear"))`` with q = 0.1, ...,
0.9 (deciles) for features and q = 0.05, ..., 0.95 for the score (ties merged, so k can be
smaller). The range bins are (-inf, e_1], (e_1, e_2], ..., (e_k, +inf): **right-closed**, a
value v goes to the first bin whose upper bound is >= v, i.e. bin i holds
e_i < v <= e_{i+1}. The outer bins are open-ended, so an outlier (or +-inf) never needs a new
bin. NaN / null -> the null bin. A feature with no non-null reference value has a single range
bin (-inf, +inf).

Boolean and categorical features: the value as text (booleans 'true' / 'false'; for a boolean
feature a number is 'true' when non-zero), compared exactly (case-sensitive, no trimming).
Every reference level whose share of the non-null reference rows is >= 1% gets a ``level``
bin (alphabetical order), then comes the ``other`` bin ('OTHER': levels under 1% and any level
unseen in the reference; always present), then ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from claims_fraud.features.spec import FeatureSpec

BIN_COLUMNS = (
    "feature_name",
    "feature_type",
    "bin_index",
    "bin_kind",
    "lower_bound",
    "upper_bound",
    "level",
)
FEATURE_QUANTILES = tuple(i / 10 for i in range(1, 10))
SCORE_QUANTILES = tuple(i / 20 for i in range(1, 20))
MIN_LEVEL_SHARE = 0.01
OTHER_LEVEL = "OTHER"
# Where training logs the reference in the classifier's MLflow run (reference_tables reads it).
REFERENCE_FOLDER = "reference"
PROFILE_FILE = "reference_profile.csv"
QUANTILES_FILE = "score_quantiles.csv"
SCORES_FILE = "scores.parquet"
# The training window's model inputs as the model was trained on them (claim_id, the rendering
# provider + inputs): ml_reference_scores joins them to the scores, so the reference is counted
# on what training saw, not on today's warehouse (regenerated, backfilled or drifted since); the
# providers cluster its claims (ml_reference_profile's variances).
INPUTS_FILE = "training_inputs.parquet"
PROVIDER = "rendering_npi"
TRAINING_WINDOW, VALIDATION_WINDOW = "training", "validation"
SCORE_COLUMNS = ("claim_id", "scoring_window", "fraud_probability", "is_flagged")


# --- bin definitions ----------------------------------------------------------------------------


def _float_values(values: pd.Series) -> np.ndarray:
    """float64 with NaN for null (decimals and booleans converted)."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_object_dtype(values.dtype):
        return values.astype("float64").to_numpy()
    return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64", na_value=np.nan)


def _range_rows(values: np.ndarray, quantiles: Sequence[float]) -> list[dict]:
    finite = values[np.isfinite(values)]
    edges = (
        np.unique(np.quantile(finite, quantiles, method="linear")) if finite.size else np.array([])
    )
    lowers = [np.nan, *edges]
    uppers = [*edges, np.nan]
    rows = [
        {"bin_kind": "range", "lower_bound": float(low), "upper_bound": float(high), "level": None}
        for low, high in zip(lowers, uppers, strict=True)
    ]
    return [*rows, _null_row()]


def _null_row() -> dict:
    return {"bin_kind": "null", "lower_bound": np.nan, "upper_bound": np.nan, "level": None}


def _to_level(value: object, boolean: bool) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if boolean and isinstance(value, (int, float, np.number)):
        return "true" if value != 0 else "false"
    return str(value)


def _levels(values: pd.Series, boolean: bool) -> pd.Series:
    """Values as level text (object dtype), None for null."""
    objects = values.astype(object)
    null = objects.isna()
    text = objects[~null].map(lambda value: _to_level(value, boolean))
    out = pd.Series(None, index=values.index, dtype=object)
    out[~null] = text
    return out


def _level_rows(values: pd.Series, boolean: bool) -> list[dict]:
    levels = _levels(values, boolean).dropna()
    shares = levels.value_counts() / len(levels) if len(levels) else pd.Series(dtype="float64")
    kept = sorted(str(level) for level, share in shares.items() if share >= MIN_LEVEL_SHARE)
    rows = [
        {"bin_kind": "level", "lower_bound": np.nan, "upper_bound": np.nan, "level": level}
        for level in kept
    ]
    other = {"bin_kind": "other", "lower_bound": np.nan, "upper_bound": np.nan}
    return [*rows, {**other, "level": OTHER_LEVEL}, _null_row()]


def _feature_bins(name: str, feature_type: str, bins: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(bins)
    table.insert(0, "bin_index", np.arange(len(table), dtype="int64"))
    table.insert(0, "feature_type", feature_type)
    table.insert(0, "feature_name", name)
    return table


def reference_bins(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    score: np.ndarray | pd.Series | None,
    score_name: str = "fraud_probability",
) -> pd.DataFrame:
    """The bins (``BIN_COLUMNS``) of every model input of ``spec`` (numeric, then boolean, then
    categorical, each in spec order) and, when given, of ``score`` (one value per row of
    ``frame``) as feature ``score_name`` of type 'score', chosen on ``frame`` (the training
    window). Rules in the module docstring. ``frame`` may be the raw feature table or a
    ``feature_matrix`` frame."""
    n_rows = len(frame)
    if n_rows == 0:
        raise ValueError("reference_bins needs at least one row")
    missing = [column for column in spec.inputs if column not in frame.columns]
    if missing:
        raise ValueError(f"reference frame is missing column(s): {', '.join(missing)}")
    tables = []
    for column in spec.numeric:
        bins = _range_rows(_float_values(frame[column]), FEATURE_QUANTILES)
        tables.append(_feature_bins(column, "numeric", bins))
    for column in (*spec.boolean, *spec.categorical):
        bins = _level_rows(frame[column], boolean=column in spec.boolean)
        tables.append(_feature_bins(column, "categorical", bins))
    if score is not None:
        values = np.asarray(score, dtype="float64")
        if len(values) != n_rows:
            raise ValueError(f"score has {len(values)} values for {n_rows} rows")
        tables.append(_feature_bins(score_name, "score", _range_rows(values, SCORE_QUANTILES)))
    bins = pd.concat(tables, ignore_index=True)[list(BIN_COLUMNS)]
    return bins.astype({"bin_index": "int64", "lower_bound": "float64", "upper_bound": "float64"})


# --- the classifier's scores on its windows ----------------------------------------------------


def window_scores(
    train_claim_ids: pd.Series,
    train_scores: np.ndarray,
    valid_claim_ids: pd.Series,
    valid_scores: np.ndarray,
    flag_threshold: float,
) -> pd.DataFrame:
    """A classifier's scores on its training and validation windows (``SCORE_COLUMNS``), with
    the flag it gives (probability at or above its threshold): the training window's rows are
    the reference the SQL counts in the bins (ml_reference_scores), all of them the population
    the promotion gate's disparate impact is computed on (ml_challenger_scores)."""
    parts = []
    for claim_ids, scores, window in (
        (train_claim_ids, train_scores, TRAINING_WINDOW),
        (valid_claim_ids, valid_scores, VALIDATION_WINDOW),
    ):
        probability = np.asarray(scores, dtype="float64")
        if len(probability) != len(claim_ids):
            raise ValueError(
                f"{window} window: {len(probability)} scores for {len(claim_ids)} claims"
            )
        parts.append(
            pd.DataFrame(
                {
                    "claim_id": np.asarray(claim_ids, dtype=object),
                    "scoring_window": window,
                    "fraud_probability": probability,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["is_flagged"] = frame["fraud_probability"] >= flag_threshold
    return frame.astype({"claim_id": "string", "scoring_window": "string"})


# --- the score's fine grid ----------------------------------------------------------------------


def score_quantile_grid(score: np.ndarray | pd.Series, n: int = 100) -> pd.DataFrame:
    """The fine grid of the reference score distribution for the KS statistic: ``quantile`` =
    i / n for i = 0..n (n + 1 rows, so the minimum and maximum are included) and ``value`` =
    ``numpy.quantile(non-null scores, quantile, method="linear")``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    values = np.asarray(score, dtype="float64")
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("score_quantile_grid needs at least one non-null score")
    quantiles = np.arange(n + 1) / n
    return pd.DataFrame(
        {"quantile": quantiles, "value": np.quantile(values, quantiles, method="linear")}
    )
