"""Random streams, vectorised sampling helpers and day arithmetic (epoch days), including the
one age rule: calendar age in completed years (:func:`calendar_age`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np

from claims_fraud.synthetic.parameters import AGE_GROUP_BOUNDS, EPOCH


def cumulative_rows(prob: np.ndarray) -> np.ndarray:
    """Row-wise CDFs; each non-empty row reaches exactly 1.0 at its last positive entry."""
    total = prob.sum(axis=1, keepdims=True)
    cum = np.cumsum(prob, axis=1) / np.where(total > 0, total, 1.0)
    last = prob.shape[1] - 1 - np.argmax(prob[:, ::-1] > 0, axis=1)
    tail = np.arange(prob.shape[1])[None, :] >= last[:, None]
    cum[tail & (total > 0)] = 1.0
    return cum


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("members", "providers", "actors", "claims", "lines", "units", "amounts", "labels")
    children = np.random.SeedSequence(seed).spawn(len(names) + 1)
    streams = {n: np.random.default_rng(s) for n, s in zip(names, children, strict=False)}
    streams["malformed"] = np.random.default_rng(children[-1])
    return streams


def sample_table_rows(cum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one column per item from row ``rows[i]`` of the row-wise CDF table ``cum``."""
    n_rows, n_cols = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + u, side="right") - rows * n_cols
    return np.clip(pos, 0, n_cols - 1)


def cdf_table(mappings: list[Mapping[str, float]], values: tuple[str, ...]) -> np.ndarray:
    prob = np.array([[m.get(v, 0.0) for v in values] for m in mappings])
    return cumulative_rows(prob)


def weighted_index(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(weights) - 1)


def grouped_choice(
    items: np.ndarray,
    weights: np.ndarray,
    item_group: np.ndarray,
    n_groups: int,
    draw_group: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Weighted choice of ``items`` restricted to the draw's group (all items if it has none)."""
    order = np.argsort(item_group[items], kind="stable")
    items_sorted = items[order]
    groups_sorted = item_group[items_sorted]
    cum = np.concatenate(([0.0], np.cumsum(weights[items_sorted])))
    lo = np.searchsorted(groups_sorted, np.arange(n_groups), side="left")
    hi = np.searchsorted(groups_sorted, np.arange(n_groups), side="right")
    a, b = cum[lo[draw_group]], cum[hi[draw_group]]
    empty = b <= a
    a = np.where(empty, 0.0, a)
    b = np.where(empty, cum[-1], b)
    pos = np.searchsorted(cum, a + u * (b - a), side="right") - 1
    return items_sorted[np.clip(pos, 0, items_sorted.size - 1)]


def sample_in_windows(
    lo: np.ndarray, hi: np.ndarray, cum: np.ndarray, origin: int, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF day draw inside per-row inclusive windows ``lo[:, k]..hi[:, k]``.

    ``cum`` is the cumulative day weight from ``origin``; windows lie inside its range.
    Returns the day and the index of the window it fell in.
    """
    last = cum.size - 1
    lo_i = np.clip(lo - origin, 0, last)
    hi_i = np.clip(hi - origin + 1, 0, last)
    weight = np.where(hi >= lo, cum[hi_i] - cum[lo_i], 0.0)
    acc = np.cumsum(weight, axis=1)
    target = u * acc[:, -1]
    k = np.minimum((target[:, None] >= acc).sum(axis=1), lo.shape[1] - 1)
    rows = np.arange(lo.shape[0])
    offset = target - (acc[rows, k] - weight[rows, k])
    day = np.searchsorted(cum, cum[lo_i[rows, k]] + offset, side="right") - 1 + origin
    return np.clip(day, lo[rows, k], hi[rows, k]), k


def epoch_day(value: date) -> int:
    return (value - EPOCH).days


def month_start(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def month_end(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]") + 1
    return months.astype("datetime64[D]").astype(np.int64) - 1


def calendar_age(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Calendar age: completed years between epoch days ``birth`` and ``day``.

    The one age rule of the project: the birthday counts from the birthday itself, and a
    29 February birthday from 1 March in years without one. The dbt macro ``age_in_years``
    (macros/cross_engine/age_in_years.sql, behind ``age_group``) computes the same.
    """
    b, d = birth.astype("datetime64[D]"), day.astype("datetime64[D]")
    b_year, d_year = (
        b.astype("datetime64[Y]").astype(np.int64),
        d.astype("datetime64[Y]").astype(np.int64),
    )
    return d_year - b_year - (_month_day_key(d) < _month_day_key(b))


def _month_day_key(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[M]")
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64)
    return (months.astype(np.int64) % 12) * 32 + day_of_month


def age_group_index(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index into AGE_GROUPS of the calendar age on ``day`` (as the dbt macro age_group)."""
    lower = np.array([low for low, _ in AGE_GROUP_BOUNDS])
    return np.searchsorted(lower, calendar_age(birth, day), side="right") - 1
