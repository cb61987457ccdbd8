"""An independent pandas/scipy/scikit-learn computation of the performance monitoring
(ml_score_calibration, mon_calibration, mon_model_performance), written from the definitions
in those models' headers, not from the SQL: the tests' second opinion.

- labelled claims: a conclusive SIU outcome (confirmed_fraud = 1, no_fraud = 0) closed on or
  before the monitoring date.
- calibration bins: the champion's labelled validation claims, unflagged and flagged apart,
  in (score, claim_id) order, cut into groups of ceil(labelled / bins) claims; each group
  starts a bin at its lowest score, the first flagged group at the flag threshold (the lowest
  flagged validation score); equal starts are one bin; the first bin is open below. A score's
  bin is the last start at or below it (the first bin when below every start).
- calibrated probability of a bin: (confirmed + 1/2) / (labelled + 1).
- Wilson interval, the two-proportion z-test and the calibration test as the model headers
  say; the average precision is scikit-learn's ``average_precision_score``.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.metrics import average_precision_score

CONCLUSIVE = {"confirmed_fraud": 1, "no_fraud": 0}


def labels(investigations: pd.DataFrame, as_of: date) -> pd.Series:
    """claim_id -> 1/0 for the conclusive outcomes closed on or before ``as_of``."""
    closed = pd.to_datetime(investigations["investigation_closed_date"]).dt.date
    kept = investigations[investigations["outcome"].isin(list(CONCLUSIVE)) & (closed <= as_of)]
    return kept.set_index("claim_id")["outcome"].map(CONCLUSIVE).astype(int)


def calibration_starts(validation: pd.DataFrame, labelled: pd.Series, bins: int) -> np.ndarray:
    """The sorted bin starts (see the module docstring)."""
    frame = validation[validation["claim_id"].isin(labelled.index)]
    size = math.ceil(len(frame) / bins)
    flag_start = validation.loc[validation["is_flagged"], "fraud_probability"].min()
    starts = set()
    for flagged, side in frame.groupby("is_flagged"):
        side = side.sort_values(["fraud_probability", "claim_id"])
        groups = np.arange(len(side)) // size
        for group, part in side.groupby(groups):
            first_flagged = bool(flagged) and group == 0
            starts.add(float(flag_start if first_flagged else part["fraud_probability"].min()))
    return np.array(sorted(starts))


def bin_of(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """1-based bin of each score."""
    return np.maximum(np.searchsorted(starts, scores, side="right"), 1)


def calibration(validation: pd.DataFrame, labelled: pd.Series, bins: int) -> pd.DataFrame:
    """One row per bin: counts, calibrated_probability; plus the starts for ``bin_of``."""
    starts = calibration_starts(validation, labelled, bins)
    frame = validation.assign(
        bin_index=bin_of(validation["fraud_probability"].to_numpy(), starts),
        label=validation["claim_id"].map(labelled),
    )
    rows = []
    for index in range(1, len(starts) + 1):
        part = frame[frame["bin_index"] == index]
        lab = part[part["label"].notna()]
        rows.append(
            {
                "bin_index": index,
                "score_lower": starts[index - 1] if index > 1 else np.nan,
                "score_upper": starts[index] if index < len(starts) else np.nan,
                "n_claims": len(part),
                "n_flagged": int(part["is_flagged"].sum()),
                "n_labelled": len(lab),
                "n_confirmed": int(lab["label"].sum()),
                "n_labelled_flagged": int(lab["is_flagged"].sum()),
                "n_confirmed_flagged": int(lab.loc[lab["is_flagged"], "label"].sum()),
                "calibrated_probability": (lab["label"].sum() + 0.5) / (len(lab) + 1),
            }
        )
    table = pd.DataFrame(rows)
    lab = frame[frame["label"].notna()]
    table["reference_average_precision"] = average_precision_score(
        lab["label"].astype(int), lab["fraud_probability"]
    )
    return table


def wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def batch_performance(
    scores: pd.DataFrame,
    labelled: pd.Series,
    calibration_table: pd.DataFrame,
    starts: np.ndarray,
    thresholds: dict[str, float],
) -> dict:
    """The figures of one batch's row of mon_model_performance (scores: its fraud_scores rows)."""
    alpha = thresholds["performance_alpha"]
    z_interval = norm.ppf(1 - alpha / 2)
    p_of_bin = calibration_table.set_index("bin_index")["calibrated_probability"]
    m_of_bin = calibration_table.set_index("bin_index")["n_labelled"]
    bins = bin_of(scores["fraud_probability"].to_numpy(), starts)
    p = p_of_bin.loc[bins].to_numpy()
    label = scores["claim_id"].map(labelled)
    is_labelled = label.notna().to_numpy()
    flagged = scores["is_flagged"].to_numpy(dtype=bool)
    y = label[is_labelled].astype(int).to_numpy()
    n_lf = int((flagged & is_labelled).sum())
    n_cf = int(label[flagged & is_labelled].sum())
    n_confirmed = int(y.sum())
    ref_lf = int(calibration_table["n_labelled_flagged"].sum())
    ref_cf = int(calibration_table["n_confirmed_flagged"].sum())
    reference_precision = ref_cf / ref_lf
    ref_flagged = calibration_table["n_flagged"].to_numpy()
    reference_expected = float(
        (ref_flagged * calibration_table["calibrated_probability"]).sum() / ref_flagged.sum()
    )
    realized_precision = n_cf / n_lf if n_lf else math.nan
    pooled = (n_cf + ref_cf) / (n_lf + ref_lf)
    if n_lf and 0 < pooled < 1:
        z = (reference_precision - realized_precision) / math.sqrt(
            pooled * (1 - pooled) * (1 / n_lf + 1 / ref_lf)
        )
        p_value = float(norm.sf(z))
    else:
        z = p_value = math.nan
    # calibration in the large over the labelled claims, per-bin variance with the
    # calibration's own: n p (1 - p) (1 + n / (m + 1))
    lab_bins = pd.Series(bins[is_labelled])
    n_per_bin = lab_bins.value_counts()
    variance = sum(
        n * p_of_bin[b] * (1 - p_of_bin[b]) * (1 + n / (m_of_bin[b] + 1))
        for b, n in n_per_bin.items()
    )
    expected = float(p[is_labelled].sum())
    calibration_z = (n_confirmed - expected) / math.sqrt(variance) if variance > 0 else math.nan
    calibration_p = float(2 * norm.sf(abs(calibration_z))) if variance > 0 else math.nan
    low, high = wilson(n_cf, n_lf, z_interval)
    expected_precision = float(p[flagged].mean()) if flagged.any() else math.nan
    drop = reference_precision - realized_precision
    if n_lf < thresholds["performance_min_labelled_flagged"]:
        estimated_drop = reference_expected - expected_precision
        status = (
            "warn_estimated"
            if estimated_drop >= thresholds["performance_precision_drop_warn"]
            else "insufficient_data"
        )
    elif drop >= thresholds["performance_precision_drop_error"] and p_value < alpha:
        status = "error"
    elif (drop >= thresholds["performance_precision_drop_warn"] and p_value < alpha) or (
        calibration_p < alpha
    ):
        status = "warn"
    else:
        status = "ok"
    return {
        "n_claims": len(scores),
        "n_flagged": int(flagged.sum()),
        "n_labelled": int(is_labelled.sum()),
        "n_confirmed": n_confirmed,
        "n_labelled_flagged": n_lf,
        "n_confirmed_flagged": n_cf,
        "realized_precision": realized_precision,
        "precision_ci_low": low,
        "precision_ci_high": high,
        "recall_labelled": n_cf / n_confirmed if n_confirmed else math.nan,
        "average_precision": (
            float(average_precision_score(y, scores["fraud_probability"][is_labelled]))
            if n_confirmed
            else math.nan
        ),
        "expected_precision": expected_precision,
        "expected_precision_std_error": (
            math.sqrt(float((p[flagged] * (1 - p[flagged])).sum())) / flagged.sum()
            if flagged.any()
            else math.nan
        ),
        "expected_fraud_flagged": float(p[flagged].sum()),
        "expected_precision_labelled": (
            float(p[flagged & is_labelled].mean()) if n_lf else math.nan
        ),
        "reference_precision": reference_precision,
        "reference_expected_precision": reference_expected,
        "precision_drop": drop,
        "precision_z": z,
        "precision_p_value": p_value,
        "calibration_observed": n_confirmed,
        "calibration_expected": expected,
        "calibration_z": calibration_z,
        "calibration_p_value": calibration_p,
        "status": status,
    }
