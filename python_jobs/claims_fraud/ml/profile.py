"""Reference profile of the training data, for drift monitoring.

The monitoring SQL bins current data with the stored profile rows, so the binning rules here are
the contract (``bin_values`` is the reference implementation the SQL is tested against).

Long table, one row per (feature, bin), columns ``PROFILE_COLUMNS``:

- ``bin_index``: 0-based within the feature; the ``null`` bin is always last.
- ``bin_kind``: ``range`` (numeric and score), ``level`` (one boolean/categorical level),
  ``other`` (pooled rare and unseen levels, ``level`` = 'OTHER'), ``null``.
- ``lower_bound`` / ``upper_bound``: range bins only; NaN means -inf / +inf.
- ``reference_count`` and ``reference_share`` = count / N, where N = all rows of the reference
  frame, nulls included (a feature's shares sum to 1).

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
unseen in the reference; always present, even with count 0), then ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from claims_fraud.features.spec import FeatureSpec

PROFILE_COLUMNS = (
    "feature_name",
    "feature_type",
    "bin_index",
    "bin_kind",
    "lower_bound",
    "upper_bound",
    "level",
    "reference_count",
    "reference_share",
)
FEATURE_QUANTILES = tuple(i / 10 for i in range(1, 10))
SCORE_QUANTILES = tuple(i / 20 for i in range(1, 20))
MIN_LEVEL_SHARE = 0.01
OTHER_LEVEL = "OTHER"
BOOLEAN_LEVELS = frozenset({"true", "false"})


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


def _feature_profile(
    name: str, feature_type: str, bins: list[dict], values: pd.Series, n_rows: int
) -> pd.DataFrame:
    table = pd.DataFrame(bins)
    table.insert(0, "bin_index", np.arange(len(table), dtype="int64"))
    table.insert(0, "feature_type", feature_type)
    table.insert(0, "feature_name", name)
    assigned = bin_values(values, table)
    table["reference_count"] = np.bincount(assigned, minlength=len(table)).astype("int64")
    table["reference_share"] = table["reference_count"] / n_rows
    return table


def reference_profile(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    score: np.ndarray | pd.Series | None,
    score_name: str = "fraud_probability",
) -> pd.DataFrame:
    """The long profile table (``PROFILE_COLUMNS``) of every model input of ``spec`` (numeric,
    then boolean, then categorical, each in spec order) and, when given, of ``score`` (one value
    per row of ``frame``) as feature ``score_name`` of type 'score'. Rules in the module
    docstring. ``frame`` may be the raw feature table or a ``feature_matrix`` frame."""
    n_rows = len(frame)
    if n_rows == 0:
        raise ValueError("reference_profile needs at least one row")
    missing = [column for column in spec.inputs if column not in frame.columns]
    if missing:
        raise ValueError(f"reference frame is missing column(s): {', '.join(missing)}")
    tables = []
    for column in spec.numeric:
        values = frame[column]
        bins = _range_rows(_float_values(values), FEATURE_QUANTILES)
        tables.append(_feature_profile(column, "numeric", bins, values, n_rows))
    for column in (*spec.boolean, *spec.categorical):
        values = frame[column]
        bins = _level_rows(values, boolean=column in spec.boolean)
        tables.append(_feature_profile(column, "categorical", bins, values, n_rows))
    if score is not None:
        values = pd.Series(np.asarray(score, dtype="float64"), index=frame.index)
        if len(values) != n_rows:
            raise ValueError(f"score has {len(values)} values for {n_rows} rows")
        bins = _range_rows(values.to_numpy(), SCORE_QUANTILES)
        tables.append(_feature_profile(score_name, "score", bins, values, n_rows))
    profile = pd.concat(tables, ignore_index=True)[list(PROFILE_COLUMNS)]
    return profile.astype(
        {
            "bin_index": "int64",
            "lower_bound": "float64",
            "upper_bound": "float64",
            "reference_count": "int64",
            "reference_share": "float64",
        }
    )


# --- binning ------------------------------------------------------------------------------------


def bin_values(values: pd.Series, profile_rows_for_feature: pd.DataFrame) -> np.ndarray:
    """The ``bin_index`` of each value under one feature's profile rows (int64 array).

    numeric / score: null or NaN -> the null bin; otherwise the first range bin (by bin_index)
    whose upper_bound >= v (NaN upper_bound = +inf): right-closed bins, so a value exactly on
    an edge e_i falls in the bin that ends at e_i. categorical: null -> null bin; the level
    text equal to a ``level`` bin -> that bin; anything else -> the ``other`` bin.
    """
    rows = profile_rows_for_feature.sort_values("bin_index")
    types = rows["feature_type"].unique()
    if len(types) != 1 or rows["feature_name"].nunique() != 1:
        raise ValueError("bin_values needs the profile rows of exactly one feature")
    null_bins = rows.loc[rows["bin_kind"] == "null", "bin_index"]
    if len(null_bins) != 1:
        raise ValueError("profile rows must hold exactly one null bin")
    null_bin = int(null_bins.iloc[0])
    if types[0] in ("numeric", "score"):
        return _bin_range(values, rows, null_bin)
    if types[0] == "categorical":
        return _bin_levels(values, rows, null_bin)
    raise ValueError(f"unknown feature_type {types[0]!r}")


def _bin_range(values: pd.Series, rows: pd.DataFrame, null_bin: int) -> np.ndarray:
    ranges = rows[rows["bin_kind"] == "range"]
    if ranges.empty or not np.isnan(ranges["upper_bound"].iloc[-1]):
        raise ValueError("the last range bin must be open-ended (upper_bound NaN)")
    uppers = ranges["upper_bound"].to_numpy(dtype="float64")[:-1]
    indices = ranges["bin_index"].to_numpy(dtype="int64")
    numbers = _float_values(values)
    # searchsorted 'left' = the first i with uppers[i] >= v; len(uppers) = the open last bin.
    positions = np.searchsorted(uppers, np.nan_to_num(numbers, nan=0.0), side="left")
    return np.where(np.isnan(numbers), null_bin, indices[positions]).astype("int64")


def _bin_levels(values: pd.Series, rows: pd.DataFrame, null_bin: int) -> np.ndarray:
    level_rows = rows[rows["bin_kind"] == "level"]
    other_bins = rows.loc[rows["bin_kind"] == "other", "bin_index"]
    if len(other_bins) != 1:
        raise ValueError("categorical profile rows must hold exactly one other bin")
    by_level = dict(zip(level_rows["level"], level_rows["bin_index"].astype(int), strict=True))
    boolean = bool(by_level) and set(by_level) <= BOOLEAN_LEVELS
    levels = _levels(values, boolean)
    assigned = levels.map(by_level).fillna(int(other_bins.iloc[0]))
    assigned[levels.isna()] = null_bin
    return assigned.to_numpy(dtype="int64")


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
