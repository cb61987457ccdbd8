"""An independent numpy/scipy computation of the PSI definitions, the tests' second opinion on
the SQL (models/monitoring/mon_feature_psi_bins, mon_feature_psi, mon_score_distribution,
models/ml/ml_reference_profile and the macros under macros/monitoring), written from the
definitions and not from the SQL; production has one implementation of each, in SQL. The
disparate impact, flag-rate and volume oracles are in monitoring_oracle.py.

Binning (``bin_values``, ``reference_counts``): the rules of claims_fraud.ml.profile's module
docstring, applied to its bins (``reference_bins``): range bins right-closed, outer bins open,
NULL / NaN to the null bin, levels matched exactly as text ('true' / 'false' for booleans),
anything else to the other bin.

Counts' variances (``count_variances``): each bin's cluster-robust count variance over the
clusters (the rendering providers), ``C / (C - 1) * sum_c (m_ck - q_k m_c) ** 2``.

PSI (``psi_bins``, ``psi_verdict``): shares smoothed as ``(n + 0.5) / (N + 0.5 K)`` on both
sides, contribution ``(q - p) ln(q / p)``, critical value ``(D_ref / N + D / M) chi2`` with
the chi-square quantile by Wilson-Hilferty and the design effects of ``psi_design_effect``.
KS (``ks_on_grid``): on the reference's quantile grid.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

BOOLEAN_LEVELS = frozenset({"true", "false"})


# --- binning ------------------------------------------------------------------------------------


def _as_float(values: pd.Series) -> np.ndarray:
    """float64 with NaN for null (decimals, booleans and objects converted)."""
    return np.array(
        [np.nan if value is None or value is pd.NA else float(value) for value in values],
        dtype="float64",
    )


def _level_text(value: object, boolean: bool) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if boolean and isinstance(value, (int, float, np.number)):
        return "true" if value != 0 else "false"
    return str(value)


def bin_values(values: pd.Series, bins_of_feature: pd.DataFrame) -> np.ndarray:
    """The ``bin_index`` of each value under one feature's bins (int64 array).

    numeric / score: null or NaN -> the null bin; otherwise the first range bin (by bin_index)
    whose upper_bound >= v (NaN upper_bound = +inf). categorical: null -> null bin; the level
    text equal to a ``level`` bin -> that bin; anything else -> the ``other`` bin."""
    rows = bins_of_feature.sort_values("bin_index")
    types = rows["feature_type"].unique()
    if len(types) != 1 or rows["feature_name"].nunique() != 1:
        raise ValueError("bin_values needs the bins of exactly one feature")
    null_bin = int(rows.loc[rows["bin_kind"] == "null", "bin_index"].iloc[0])
    if types[0] in ("numeric", "score"):
        ranges = rows[rows["bin_kind"] == "range"]
        uppers = ranges["upper_bound"].to_numpy(dtype="float64")
        uppers = np.where(np.isnan(uppers), np.inf, uppers)
        indices = ranges["bin_index"].to_numpy(dtype="int64")
        out = []
        for number in _as_float(values):
            if math.isnan(number):
                out.append(null_bin)
            else:
                out.append(int(indices[np.flatnonzero(uppers >= number)[0]]))
        return np.array(out, dtype="int64")
    levels = rows[rows["bin_kind"] == "level"]
    by_level = dict(zip(levels["level"], levels["bin_index"].astype(int), strict=True))
    other_bin = int(rows.loc[rows["bin_kind"] == "other", "bin_index"].iloc[0])
    boolean = bool(by_level) and set(by_level) <= BOOLEAN_LEVELS
    out = []
    for value in values.astype(object):
        text = _level_text(value, boolean)
        out.append(null_bin if text is None else by_level.get(text, other_bin))
    return np.array(out, dtype="int64")


def count_variances(
    assigned: np.ndarray, bin_indices: pd.Series, clusters: pd.Series | None
) -> np.ndarray:
    """Each bin's cluster-robust count variance, ``C / (C - 1) * sum_c (m_ck - q_k m_c) ** 2``
    (``assigned``: each value's bin; ``clusters``: one label per value, a missing one a cluster
    of its own); NaN without clusters or with fewer than 2."""
    variance = np.full(len(bin_indices), np.nan)
    if clusters is None:
        return variance
    labels = clusters.astype(object).where(clusters.notna(), "").map(str).to_numpy()
    table = pd.crosstab(labels, assigned).reindex(columns=bin_indices, fill_value=0)
    c = len(table)
    if c >= 2:
        per_cluster = table.to_numpy(dtype=float)  # m_ck
        sizes = per_cluster.sum(axis=1, keepdims=True)  # m_c
        raw = per_cluster.sum(axis=0) / len(assigned)  # q_k, unsmoothed
        variance = c / (c - 1) * ((per_cluster - raw * sizes) ** 2).sum(axis=0)
    return variance


def reference_counts(
    frame: pd.DataFrame,
    bins: pd.DataFrame,
    score: np.ndarray | None = None,
    clusters: pd.Series | None = None,
) -> pd.DataFrame:
    """``bins`` with ``reference_count``, ``reference_share`` (count / rows of ``frame``, nulls
    included) and ``reference_count_variance`` (clustered by ``clusters``, one label per row of
    ``frame``): what ml_reference_profile holds. The score (feature type 'score') takes its
    values from ``score``."""
    parts = []
    for _, rows in bins.groupby("feature_name", sort=False):
        rows = rows.sort_values("bin_index").reset_index(drop=True)
        if rows["feature_type"].iloc[0] == "score":
            values = pd.Series(np.asarray(score, dtype="float64"))
        else:
            values = frame[rows["feature_name"].iloc[0]]
        assigned = bin_values(values, rows)
        counts = [int((assigned == index).sum()) for index in rows["bin_index"]]
        labels = None if clusters is None else clusters.reset_index(drop=True)
        variance = count_variances(assigned, rows["bin_index"], labels)
        parts.append(rows.assign(reference_count=counts, reference_count_variance=variance))
    profile = pd.concat(parts, ignore_index=True)
    profile["reference_share"] = profile["reference_count"] / len(frame)
    return profile.astype({"reference_count": "int64"})


# --- PSI and KS ---------------------------------------------------------------------------------


def wilson_hilferty_quantile(q: float, df: int) -> float:
    """Chi-square quantile by Wilson-Hilferty, with the exact normal quantile from scipy."""
    z = stats.norm.ppf(q)
    return df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def psi_bins(
    values: pd.Series, profile_rows: pd.DataFrame, clusters: pd.Series | None = None
) -> pd.DataFrame:
    """Counts, smoothed shares and PSI contribution per bin of one feature; with ``clusters``
    (one label per value: the rendering provider) also each count's cluster-robust variance
    (count_variances); the reference's comes with ``profile_rows`` when it has one."""
    rows = profile_rows.sort_values("bin_index").reset_index(drop=True)
    assigned = bin_values(values, rows)
    k = len(rows)
    counts = np.array([(assigned == index).sum() for index in rows["bin_index"]], dtype=float)
    reference = rows["reference_count"].to_numpy(dtype=float)
    n, m = reference.sum(), float(len(values))
    p = (reference + 0.5) / (n + 0.5 * k)
    q = (counts + 0.5) / (m + 0.5 * k)
    variance = count_variances(
        assigned, rows["bin_index"], None if clusters is None else clusters.reset_index(drop=True)
    )
    reference_variance = rows.get("reference_count_variance", pd.Series(np.nan, index=rows.index))
    return pd.DataFrame(
        {
            "bin_index": rows["bin_index"].to_numpy(),
            "current_count": counts.astype(int),
            "reference_share": p,
            "current_share": q,
            "psi_contribution": (q - p) * np.log(q / p),
            "current_count_variance": variance,
            "reference_count": reference.astype(int),
            "reference_count_variance": reference_variance.to_numpy(dtype=float),
            "reference_n": int(n),
            "n_bins": k,
        }
    )


def psi_design_effect(bins: pd.DataFrame, side: str = "current") -> float:
    """max(1, sum over bins holding claims of V_k / m_k, over K - 1); 1 without variances.
    ``side``: "current" (the batch) or "reference" (the training window)."""
    count, variance = bins[f"{side}_count"], bins[f"{side}_count_variance"]
    held = count > 0
    if variance[held].isna().all():
        return 1.0
    k = int(bins["n_bins"].iloc[0])
    total = float((variance[held] / count[held]).sum())
    return max(1.0, total / (k - 1))


def psi_verdict(bins: pd.DataFrame, m: int, warn: float, error: float, quantile: float) -> dict:
    psi = float(bins["psi_contribution"].sum())
    n, k = int(bins["reference_n"].iloc[0]), int(bins["n_bins"].iloc[0])
    design_effect = psi_design_effect(bins)
    reference_design_effect = psi_design_effect(bins, "reference")
    critical = (reference_design_effect / n + design_effect / m) * wilson_hilferty_quantile(
        quantile, k - 1
    )
    if psi >= error and psi >= critical:
        status = "error"
    elif psi >= warn and psi >= critical:
        status = "warn"
    elif psi >= warn:
        status = "insufficient_evidence"
    else:
        status = "ok"
    top = bins.sort_values(["psi_contribution", "bin_index"], ascending=[False, True]).iloc[0]
    return {
        "psi": psi,
        "critical_value": critical,
        "design_effect": design_effect,
        "reference_design_effect": reference_design_effect,
        "status": status,
        "top_bin_index": int(top["bin_index"]),
    }


def ks_on_grid(scores: np.ndarray, grid: pd.DataFrame) -> float:
    """max over grid points (u, v) of |F(v) - u| and |F(v-) - u|."""
    scores = np.sort(np.asarray(scores, dtype=float))
    values = grid["value"].to_numpy(dtype=float)
    quantiles = grid["quantile"].to_numpy(dtype=float)
    at_or_below = np.searchsorted(scores, values, side="right") / len(scores)
    below = np.searchsorted(scores, values, side="left") / len(scores)
    return float(np.max(np.maximum(np.abs(at_or_below - quantiles), np.abs(below - quantiles))))
