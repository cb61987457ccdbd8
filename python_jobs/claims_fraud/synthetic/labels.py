"""SIU investigation labels: which claims the SIU picks and their outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from claims_fraud.synthetic.claims import Claims
from claims_fraud.synthetic.config import NONE
from claims_fraud.synthetic.lines import Lines
from claims_fraud.synthetic.parameters import (
    SIU_CHARGE_SLOPE,
    SIU_FRAUD_LIFT,
    SIU_OUTCOME_P_CLEAN,
    SIU_OUTCOME_P_FRAUD,
    SIU_TARGET_SHARE,
)


@dataclass(frozen=True)
class Labels:
    investigated: np.ndarray  # claim indices
    closed: np.ndarray
    outcome: np.ndarray


def build_labels(claims: Claims, lines: Lines, rng: np.random.Generator) -> Labels:
    """SIU picks claims by a logistic in log total charge, more often when fraudulent."""
    total = np.bincount(lines.claim, lines.charge, minlength=claims.n) / 100.0
    log_total = np.log(np.maximum(total, 0.01))
    fraud = claims.scheme != NONE
    score = SIU_CHARGE_SLOPE * (log_total - np.median(log_total)) + SIU_FRAUD_LIFT * fraud
    intercept = _calibrate_intercept(score[:200_000], SIU_TARGET_SHARE)
    investigated = np.flatnonzero(rng.random(claims.n) < _expit(intercept + score))
    u = rng.random(investigated.size)
    p = np.where(
        fraud[investigated, None], np.array(SIU_OUTCOME_P_FRAUD), np.array(SIU_OUTCOME_P_CLEAN)
    )
    outcome = (u[:, None] >= np.cumsum(p, axis=1)[:, :2]).sum(axis=1)
    closed = claims.end[investigated] + rng.integers(30, 201, investigated.size)
    return Labels(investigated=investigated, closed=closed, outcome=outcome.astype(np.int8))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate_intercept(score: np.ndarray, target: float) -> float:
    low, high = -30.0, 30.0
    for _ in range(60):  # bisection steps
        mid = (low + high) / 2
        if _expit(mid + score).mean() > target:
            high = mid
        else:
            low = mid
    return (low + high) / 2
