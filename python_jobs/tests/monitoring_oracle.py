"""An independent numpy/scipy computation of the monitoring definitions (issue 4), written
from the definitions and not from the SQL, so that the SQL models can be checked against it.

Disparate impact has its twin in the package already (``claims_fraud.ml.fairness``); binning
uses ``claims_fraud.ml.profile.bin_values``, the reference implementation of the profile rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from claims_fraud.ml.profile import bin_values


def wilson_hilferty_quantile(q: float, df: int) -> float:
    """Chi-square quantile by Wilson-Hilferty, with the exact normal quantile from scipy."""
    z = stats.norm.ppf(q)
    return df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def psi_bins(values: pd.Series, profile_rows: pd.DataFrame) -> pd.DataFrame:
    """Counts, smoothed shares and PSI contribution per bin of one feature."""
    rows = profile_rows.sort_values("bin_index").reset_index(drop=True)
    assigned = bin_values(values, rows)
    k = len(rows)
    counts = np.array([(assigned == index).sum() for index in rows["bin_index"]], dtype=float)
    reference = rows["reference_count"].to_numpy(dtype=float)
    n, m = reference.sum(), float(len(values))
    p = (reference + 0.5) / (n + 0.5 * k)
    q = (counts + 0.5) / (m + 0.5 * k)
    return pd.DataFrame(
        {
            "bin_index": rows["bin_index"].to_numpy(),
            "current_count": counts.astype(int),
            "reference_share": p,
            "current_share": q,
            "psi_contribution": (q - p) * np.log(q / p),
            "reference_n": int(n),
            "n_bins": k,
        }
    )


def psi_verdict(bins: pd.DataFrame, m: int, warn: float, error: float, quantile: float) -> dict:
    psi = float(bins["psi_contribution"].sum())
    n, k = int(bins["reference_n"].iloc[0]), int(bins["n_bins"].iloc[0])
    critical = (1 / n + 1 / m) * wilson_hilferty_quantile(quantile, k - 1)
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


def flag_rate_test(n_flagged: int, n: int, budget: float) -> tuple[float, float]:
    z = (n_flagged - n * budget) / np.sqrt(n * budget * (1 - budget))
    return float(z), float(2 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class VolumeRules:
    window: int
    min_history: int
    z_warn: float
    z_error: float
    row_count_min_relative_std: float
    null_rate_min_std: float


def _floor(metric: str, mean: float, rules: VolumeRules) -> float:
    if metric == "row_count":
        return rules.row_count_min_relative_std * mean
    return rules.null_rate_min_std


def volume_verdicts(series: list[float | None], metric: str, rules: VolumeRules) -> list[dict]:
    """Verdict of each batch of one metric's series (batches in scored order)."""
    anomalous = []
    for j, value in enumerate(series):
        earlier = [v for v in series[:j] if v is not None][-rules.window :]
        flag = False
        if value is not None and len(earlier) >= rules.min_history:
            mean = float(np.mean(earlier))
            std = float(np.std(earlier, ddof=1)) if len(earlier) > 1 else 0.0
            flag = abs(value - mean) >= rules.z_warn * max(std, _floor(metric, mean, rules))
        anomalous.append(flag)
    out = []
    for j, value in enumerate(series):
        clean = [v for i, v in enumerate(series[:j]) if v is not None and not anomalous[i]]
        clean = clean[-rules.window :]
        mean = float(np.mean(clean)) if clean else None
        std = float(np.std(clean, ddof=1)) if len(clean) > 1 else None
        z = None
        if len(clean) >= rules.min_history:
            denominator = max(std or 0.0, _floor(metric, mean, rules))
            z = (value - mean) / denominator if value is not None and denominator > 0 else None
        if value is None or (metric == "row_count" and value == 0):
            status = "no_data"
        elif len(clean) < rules.min_history:
            status = "insufficient_history"
        elif z is None:
            status = "ok" if value == mean else "error"
        elif abs(z) >= rules.z_error:
            status = "error"
        elif abs(z) >= rules.z_warn:
            status = "warn"
        else:
            status = "ok"
        out.append(
            {
                "history_batches": len(clean),
                "trailing_mean": mean,
                "trailing_std": std,
                "z_score": z,
                "status": status,
            }
        )
    return out
