"""An independent numpy/scipy computation of the monitoring definitions, written from the
definitions and not from the SQL, so that the SQL (models/monitoring, models/ml and the macros
under macros/monitoring) can be checked against it. Production has one implementation of each
statistic, in SQL; these are the tests' second opinion.

The binning, the PSI and the KS are in psi_oracle.py beside this module.

Disparate impact (``disparate_impact``), for a group g (n1 claims, x1 flagged) against the
reference group r (n2, x2):

- flag rates ``p1 = x1 / n1``, ``p2 = x2 / n2``
- ``disparate_impact = p1 / p2`` and ``not_flagged_ratio = (1 - p1) / (1 - p2)``
  (x / 0 = +inf for x > 0, 0 / 0 = NaN), evaluated from the integer counts as
  ``(x1 * n2) / (n1 * x2)`` and ``((n1 - x1) * n2) / (n1 * (n2 - x2))``: the same ratios, but
  with a single rounding, so a ratio exactly on a band bound (4,000/50,000 vs 10,000/100,000
  = 0.8) is exactly that bound, where p1 / p2 gives 0.7999999999999999. The SQL uses the same
  form.
- two-sided pooled two-proportion z-test: ``p = (x1 + x2) / (n1 + n2)``,
  ``se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2))``, ``z = (p1 - p2) / se``,
  ``p_value = 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2))``; z and p_value are NaN when se = 0
  (p = 0 or 1: nobody or everybody flagged in both groups)
- Bonferroni: ``p_adjusted = min(1, p_value * m)``, m = number of non-reference groups (the
  SQL's family is the batch: every attribute's, passed as ``comparisons``);
  ``is_significant = p_adjusted < alpha`` (False when p_adjusted is NaN)
- 95% CI of the ratio (Katz log method, 1.96 whatever alpha is):
  ``exp(ln(DI) -/+ 1.96 * sqrt((1 - p1) / x1 + (1 - p2) / x2))``, NaN when x1 or x2 is 0
- expected cells under the pooled rate: ``n1 * p, n1 * (1 - p), n2 * p, n2 * (1 - p)``
- the band test (is the DI significantly *outside the band*, not merely different from 1?):
  with ``x1' = max(x1, 0.5)``, ``x2' = max(x2, 0.5)``, ``L = ln((x1' * n2) / (n1 * x2'))`` and
  Katz's ``se = sqrt((1 - p1) / x1' + (1 - p2) / x2')``, for a DI outside the band
  ``z_out = (ln(band_low) - L) / se`` below it, ``(L - ln(band_high)) / se`` above it;
  ``p_outside_band = 1 - Phi(z_out)``, ``p_outside_band_adjusted = min(1, m * p_outside_band)``,
  ``is_significantly_outside_band = p_outside_band_adjusted < alpha``; NaN / False inside the
  band or when se is 0

Clustering (``clusters`` given: one cluster label per claim, the SQL's rendering provider):
for the C clusters holding claims of g or r, with n1c, x1c (n2c, x2c) the claims and flags of
g (r) in cluster c and ``p' = x' / n``:
``V_diff = C / (C - 1) * sum_c ((x1c - p1 n1c) / n1 - (x2c - p2 n2c) / n2) ** 2``,
``V_log = C / (C - 1) * sum_c ((x1c - p1' n1c) / x1' - (x2c - p2' n2c) / x2') ** 2`` (none
when C < 2). The z-test's variance is then ``max(pooled, V_diff)``, the variance of ln DI (CI
and band test) ``max(Katz, V_log)``; ``design_effect = V_log / Katz``. Computed here per
cluster with pandas group-bys, from the definitions; without clusters the tests are the
independent-claims ones above.

Status, first match wins:

1. ``insufficient_data``: any expected cell < ``min_expected`` (the test is not trustworthy; never
   a silent pass)
2. ``fail``: DI outside the band [band_low, band_high] (bounds inside) and significantly outside
   it (a DI that crosses a bound on a small sample is not evidence of disparate impact)
3. ``warn_not_significant``: DI outside the band, not significantly outside it
4. ``warn_significant_within_band``: DI inside the band but significant
5. ``pass``

The reference row compares the group with itself: DI = not_flagged_ratio = 1, z, p_value,
p_adjusted, ci_low, ci_high, p_outside_band(_adjusted) NaN, is_significant(ly_outside_band)
False, status ``pass``, or
``insufficient_data`` when its own cells ``n2 * p2`` or ``n2 * (1 - p2)`` are < min_expected.

Groups are the attribute's values as text; nulls form the group ``unknown``. The default
reference group is the largest one (ties: the alphabetically first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

UNKNOWN_GROUP = "unknown"
KATZ_Z = 1.96
COLUMNS = (
    "group",
    "n",
    "flagged",
    "flag_rate",
    "reference_group",
    "reference_n",
    "reference_flagged",
    "reference_flag_rate",
    "disparate_impact",
    "not_flagged_ratio",
    "z",
    "p_value",
    "p_adjusted",
    "ci_low",
    "ci_high",
    "is_significant",
    "p_outside_band",
    "p_outside_band_adjusted",
    "is_significantly_outside_band",
    "n_clusters",
    "design_effect",
    "status",
)


# --- disparate impact ---------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator with x / 0 = +inf (x > 0) and 0 / 0 = NaN."""
    if denominator == 0:
        return math.inf if numerator > 0 else math.nan
    return numerator / denominator


def _at_least(variance: float, cluster_variance: float) -> float:
    """The larger of an independent-claims variance and a cluster-robust one (NaN: none)."""
    return variance if math.isnan(cluster_variance) else max(variance, cluster_variance)


def two_proportion_z_test(
    x1: int, n1: int, x2: int, n2: int, cluster_variance: float = math.nan
) -> tuple[float, float]:
    """(z, two-sided p-value) of the two-proportion z-test of x1/n1 vs x2/n2, the pooled
    variance or the cluster-robust one when larger."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(_at_least(pooled * (1 - pooled) * (1 / n1 + 1 / n2), cluster_variance))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def katz_interval(
    x1: int, n1: int, x2: int, n2: int, cluster_variance: float = math.nan
) -> tuple[float, float]:
    """95% CI of (x1/n1) / (x2/n2) by Katz's log method (or the cluster-robust variance of ln
    DI when larger); NaN when x1 or x2 is 0."""
    if x1 == 0 or x2 == 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    half_width = KATZ_Z * math.sqrt(_at_least((1 - p1) / x1 + (1 - p2) / x2, cluster_variance))
    log_ratio = math.log(p1 / p2)
    return math.exp(log_ratio - half_width), math.exp(log_ratio + half_width)


def outside_band_p_value(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    band: tuple[float, float],
    cluster_variance: float = math.nan,
) -> float:
    """One-sided p-value that (x1/n1) / (x2/n2) lies beyond the band bound it crosses (module
    docstring); NaN when the ratio is inside the band or the standard error is 0."""
    di = _ratio(x1 * n2, n1 * x2)
    if band[0] <= di <= band[1]:
        return math.nan
    c1, c2 = max(x1, 0.5), max(x2, 0.5)
    se = math.sqrt(_at_least((1 - x1 / n1) / c1 + (1 - x2 / n2) / c2, cluster_variance))
    if se == 0:
        return math.nan
    log_ratio = math.log((c1 * n2) / (n1 * c2))
    if di < band[0]:
        z_out = (math.log(band[0]) - log_ratio) / se
    else:  # above the band, +inf and NaN (0 / 0) included, as the SQL
        z_out = (log_ratio - math.log(band[1])) / se
    return 0.5 * math.erfc(z_out / math.sqrt(2))


def cluster_variances(
    labels: pd.Series, mask: np.ndarray, clusters: pd.Series, group: str, reference: str
) -> tuple[int, float, float]:
    """(C, V_diff, V_log) of group against reference (module docstring); V NaN when C < 2."""
    frame = pd.DataFrame(
        {
            "group": labels.to_numpy(),
            "flag": mask.astype(int),
            "cluster": clusters.astype(object).where(clusters.notna(), "").map(str).to_numpy(),
        }
    )
    frame = frame[frame["group"].isin([group, reference])]
    per = frame.groupby(["cluster", "group"])["flag"].agg(["size", "sum"]).unstack(fill_value=0)
    n1c = per["size"].get(group, pd.Series(0, index=per.index)).to_numpy(dtype=float)
    x1c = per["sum"].get(group, pd.Series(0, index=per.index)).to_numpy(dtype=float)
    n2c = per["size"].get(reference, pd.Series(0, index=per.index)).to_numpy(dtype=float)
    x2c = per["sum"].get(reference, pd.Series(0, index=per.index)).to_numpy(dtype=float)
    n1, x1, n2, x2 = n1c.sum(), x1c.sum(), n2c.sum(), x2c.sum()
    c = len(per)
    if c < 2:
        return c, math.nan, math.nan
    h1, h2 = max(x1, 0.5), max(x2, 0.5)
    u_diff = (x1c - x1 / n1 * n1c) / n1 - (x2c - x2 / n2 * n2c) / n2
    u_log = (x1c - h1 / n1 * n1c) / h1 - (x2c - h2 / n2 * n2c) / h2
    scale = c / (c - 1)
    return c, float(scale * (u_diff**2).sum()), float(scale * (u_log**2).sum())


def _status(
    di: float,
    significant: bool,
    outside_significantly: bool,
    cells: Sequence[float],
    band: tuple[float, float],
    min_expected: float,
) -> str:
    if any(not cell >= min_expected for cell in cells):  # NaN cells count as too small
        return "insufficient_data"
    outside = not band[0] <= di <= band[1]  # NaN DI counts as outside
    if outside:
        return "fail" if outside_significantly else "warn_not_significant"
    return "warn_significant_within_band" if significant else "pass"


def _group_labels(groups: pd.Series) -> pd.Series:
    values = groups.astype(object)
    return values.where(values.notna(), UNKNOWN_GROUP).map(str)


def disparate_impact(
    groups: pd.Series,
    flagged: np.ndarray | pd.Series,
    reference_group: str | None = None,
    alpha: float = 0.05,
    band: tuple[float, float] = (0.80, 1.25),
    min_expected: float = 5,
    clusters: pd.Series | None = None,
    comparisons: int | None = None,
) -> pd.DataFrame:
    """One row per group (reference included, groups in alphabetical order) with the columns
    of ``COLUMNS``; formulas and statuses in the module docstring (``clusters``: the
    cluster-robust tests, the SQL's; ``comparisons``: the Bonferroni family's size m when it
    spans more than this attribute, as the SQL's does: every attribute of the batch)."""
    mask = np.asarray(flagged)
    if mask.shape != (len(groups),):
        raise ValueError(f"flagged has shape {mask.shape}, expected ({len(groups)},)")
    if pd.isna(mask).any():
        raise ValueError("flagged must not contain nulls")
    mask = mask.astype(bool)
    if len(groups) == 0:
        raise ValueError("disparate_impact needs at least one claim")
    if not band[0] <= band[1]:
        raise ValueError(f"band must be (low, high) with low <= high, got {band}")
    labels = _group_labels(groups)
    counts = (
        pd.DataFrame({"group": labels.to_numpy(), "flagged": mask})
        .groupby("group", sort=True)["flagged"]
        .agg(n="size", flagged="sum")
    )
    if reference_group is None:
        # Largest group; ties -> alphabetical first (counts is sorted by group, idxmax keeps
        # the first maximum).
        reference_group = str(counts["n"].idxmax())
    elif reference_group not in counts.index:
        raise ValueError(
            f"reference group {reference_group!r} not among the groups: "
            f"{', '.join(map(str, counts.index))}"
        )
    n2, x2 = int(counts.at[reference_group, "n"]), int(counts.at[reference_group, "flagged"])
    p2 = x2 / n2
    m = len(counts) - 1 if comparisons is None else comparisons
    rows: list[dict[str, Any]] = []
    for group, (n1, x1) in counts[["n", "flagged"]].iterrows():
        n1, x1 = int(n1), int(x1)
        p1 = x1 / n1
        row: dict[str, Any] = {
            "group": group,
            "n": n1,
            "flagged": x1,
            "flag_rate": p1,
            "reference_group": reference_group,
            "reference_n": n2,
            "reference_flagged": x2,
            "reference_flag_rate": p2,
        }
        if group == reference_group:
            cells = (n2 * p2, n2 * (1 - p2))
            row.update(
                disparate_impact=1.0,
                not_flagged_ratio=1.0,
                z=math.nan,
                p_value=math.nan,
                p_adjusted=math.nan,
                ci_low=math.nan,
                ci_high=math.nan,
                is_significant=False,
                p_outside_band=math.nan,
                p_outside_band_adjusted=math.nan,
                is_significantly_outside_band=False,
                n_clusters=math.nan,
                design_effect=math.nan,
                status=_status(1.0, False, False, cells, band, min_expected),
            )
        else:
            di = _ratio(x1 * n2, n1 * x2)
            z, p_value = two_proportion_z_test(x1, n1, x2, n2)
            ci_low, ci_high = katz_interval(x1, n1, x2, n2)
            p_band = outside_band_p_value(x1, n1, x2, n2, band)
            n_clusters, design_effect = math.nan, math.nan
            if clusters is not None:
                n_clusters, v_diff, v_log = cluster_variances(
                    labels, mask, clusters, group, reference_group
                )
                z, p_value = two_proportion_z_test(x1, n1, x2, n2, v_diff)
                ci_low, ci_high = katz_interval(x1, n1, x2, n2, v_log)
                p_band = outside_band_p_value(x1, n1, x2, n2, band, v_log)
                katz = (1 - x1 / n1) / max(x1, 0.5) + (1 - x2 / n2) / max(x2, 0.5)
                design_effect = (
                    (0.0 if math.isnan(v_log) else v_log) / katz if katz > 0 else math.nan
                )
            p_adjusted = min(1.0, p_value * m) if not math.isnan(p_value) else math.nan
            significant = bool(p_adjusted < alpha)
            pooled = (x1 + x2) / (n1 + n2)
            cells = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
            p_band_adjusted = min(1.0, p_band * m) if not math.isnan(p_band) else math.nan
            outside_significantly = bool(p_band_adjusted < alpha)
            row.update(
                disparate_impact=di,
                not_flagged_ratio=_ratio((n1 - x1) * n2, n1 * (n2 - x2)),
                z=z,
                p_value=p_value,
                p_adjusted=p_adjusted,
                ci_low=ci_low,
                ci_high=ci_high,
                is_significant=significant,
                p_outside_band=p_band,
                p_outside_band_adjusted=p_band_adjusted,
                is_significantly_outside_band=outside_significantly,
                n_clusters=n_clusters,
                design_effect=design_effect,
                status=_status(di, significant, outside_significantly, cells, band, min_expected),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --- score distribution (flag rate), volume -------------------------------------------------


def flag_rate_test(
    flags: np.ndarray, budget: float, clusters: pd.Series | None = None
) -> tuple[float, float, float]:
    """z, two-sided p and design effect of the flagged count against the budget: the variance
    is the larger of the binomial n b (1 - b) and, with clusters (one label per claim, None its
    own label), C / (C - 1) * sum over clusters of (x_c - b n_c)^2 (none when C < 2)."""
    flags = np.asarray(flags, dtype=bool)
    n, x = len(flags), int(flags.sum())
    binomial = n * budget * (1 - budget)
    robust = 0.0
    if clusters is not None:
        labels = pd.Series(clusters).astype(object).where(pd.Series(clusters).notna(), "<null>")
        per = (
            pd.DataFrame({"c": labels.to_numpy(), "f": flags})
            .groupby("c")["f"]
            .agg(["size", "sum"])
        )
        if len(per) > 1:
            robust = (
                len(per) / (len(per) - 1) * float(((per["sum"] - budget * per["size"]) ** 2).sum())
            )
    z = (x - n * budget) / np.sqrt(max(binomial, robust))
    return float(z), float(2 * stats.norm.sf(abs(z))), max(1.0, robust / binomial)


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
