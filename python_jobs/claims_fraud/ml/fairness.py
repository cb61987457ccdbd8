"""Disparate impact of the fraud flags across groups of a protected attribute.

The monitoring SQL recomputes these numbers from the scored table, so every formula here is
exact and stated. For a group g (n1 claims, x1 flagged) against the reference group r (n2, x2):

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
- Bonferroni: ``p_adjusted = min(1, p_value * m)``, m = number of non-reference groups;
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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN_GROUP = "unknown"
KATZ_Z = 1.96
STATUSES = (
    "pass",
    "warn_significant_within_band",
    "warn_not_significant",
    "fail",
    "insufficient_data",
)
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
    "status",
)


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator with x / 0 = +inf (x > 0) and 0 / 0 = NaN."""
    if denominator == 0:
        return math.inf if numerator > 0 else math.nan
    return numerator / denominator


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p-value) of the pooled two-proportion z-test of x1/n1 vs x2/n2."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def katz_interval(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """95% CI of (x1/n1) / (x2/n2) by Katz's log method; NaN when x1 or x2 is 0."""
    if x1 == 0 or x2 == 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    half_width = KATZ_Z * math.sqrt((1 - p1) / x1 + (1 - p2) / x2)
    log_ratio = math.log(p1 / p2)
    return math.exp(log_ratio - half_width), math.exp(log_ratio + half_width)


def outside_band_p_value(x1: int, n1: int, x2: int, n2: int, band: tuple[float, float]) -> float:
    """One-sided p-value that (x1/n1) / (x2/n2) lies beyond the band bound it crosses (module
    docstring); NaN when the ratio is inside the band or the standard error is 0."""
    di = _ratio(x1 * n2, n1 * x2)
    if band[0] <= di <= band[1]:
        return math.nan
    c1, c2 = max(x1, 0.5), max(x2, 0.5)
    se = math.sqrt((1 - x1 / n1) / c1 + (1 - x2 / n2) / c2)
    if se == 0:
        return math.nan
    log_ratio = math.log((c1 * n2) / (n1 * c2))
    if di < band[0]:
        z_out = (math.log(band[0]) - log_ratio) / se
    else:  # above the band, +inf and NaN (0 / 0) included, as the SQL
        z_out = (log_ratio - math.log(band[1])) / se
    return 0.5 * math.erfc(z_out / math.sqrt(2))


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
) -> pd.DataFrame:
    """One row per group (reference included, groups in alphabetical order) with the columns
    of ``COLUMNS``; formulas and statuses in the module docstring."""
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
    m = len(counts) - 1
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
                status=_status(1.0, False, False, cells, band, min_expected),
            )
        else:
            di = _ratio(x1 * n2, n1 * x2)
            z, p_value = two_proportion_z_test(x1, n1, x2, n2)
            p_adjusted = min(1.0, p_value * m) if not math.isnan(p_value) else math.nan
            significant = bool(p_adjusted < alpha)
            pooled = (x1 + x2) / (n1 + n2)
            cells = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
            ci_low, ci_high = katz_interval(x1, n1, x2, n2)
            p_band = outside_band_p_value(x1, n1, x2, n2, band)
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
                status=_status(di, significant, outside_significantly, cells, band, min_expected),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def fairness_gate(
    frame_by_attribute: Mapping[str, pd.DataFrame],
) -> tuple[bool, dict[str, Any]]:
    """Pass unless some group of some attribute has status ``fail``.

    ``details`` (JSON-serialisable) holds ``passed``, ``status_counts`` (attribute -> status ->
    groups), and the ``failures`` and ``warnings`` (any ``warn_*`` or ``insufficient_data``
    row) as lists of {attribute, group, status, disparate_impact, p_adjusted}.
    """
    failures: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    status_counts: dict[str, dict[str, int]] = {}
    for attribute, frame in frame_by_attribute.items():
        unknown = sorted(set(frame["status"]) - set(STATUSES))
        if unknown:
            raise ValueError(f"{attribute}: unknown fairness status(es) {', '.join(unknown)}")
        status_counts[attribute] = {
            status: int((frame["status"] == status).sum()) for status in STATUSES
        }
        for row in frame.itertuples(index=False):
            if row.status == "pass":
                continue
            entry = {
                "attribute": attribute,
                "group": str(row.group),
                "status": str(row.status),
                "disparate_impact": _json_float(row.disparate_impact),
                "p_adjusted": _json_float(row.p_adjusted),
            }
            (failures if row.status == "fail" else warnings).append(entry)
    passed = not failures
    details = {
        "passed": passed,
        "status_counts": status_counts,
        "failures": failures,
        "warnings": warnings,
    }
    return passed, details


def _json_float(value: float) -> float | None:
    """None for NaN and infinities (strict JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None
