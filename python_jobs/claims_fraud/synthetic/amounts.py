"""Charges, allowed and paid amounts in integer cents, and duplicate_billing claims copied from
their sources.
"""

from __future__ import annotations

import math

import numpy as np

from claims_fraud.synthetic.claims import Claims, bias_mask
from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import DUPLICATE, GeneratorConfig
from claims_fraud.synthetic.lines import Lines
from claims_fraud.synthetic.parameters import (
    DRIFT_LOG_CHARGE,
    INSTITUTIONAL_CHARGE_FACTOR,
    US_PER_DAY,
)
from claims_fraud.synthetic.population import Members, Period


def build_amounts(
    config: GeneratorConfig,
    ref: Ref,
    period: Period,
    members: Members,
    claims: Claims,
    lines: Lines,
    rng: np.random.Generator,
) -> None:
    """Lognormal charges x units, allowed and paid as random shares, in integer cents.

    Valid lines always have 0 < paid <= allowed <= charge.
    """
    claim, code = lines.claim, lines.code
    drift = claims.start[claim] >= period.drift_day
    in_group = bias_mask(config, ref, members, claims.member, claims.start)[claim]
    log_mean = (
        ref.log_median[code]
        + np.where(drift, DRIFT_LOG_CHARGE * config.drift_strength, 0.0)
        + np.where(claims.is_inst[claim], math.log(INSTITUTIONAL_CHARGE_FACTOR), 0.0)
        + np.where(in_group, math.log(1.0 + 0.5 * (config.bias_factor - 1.0)), 0.0)
    )
    charge = np.exp(log_mean + ref.sigma[code] * rng.standard_normal(lines.n)) * lines.units
    lines.charge = np.maximum(np.rint(charge * 100.0), 3).astype(np.int64)
    allowed = np.floor(lines.charge * rng.uniform(0.35, 0.85, lines.n))
    lines.allowed = np.maximum(allowed, 1).astype(np.int64)
    paid = np.floor(lines.allowed * rng.uniform(0.6, 1.0, lines.n))
    lines.paid = np.maximum(paid, 1).astype(np.int64)


def copy_duplicate_claims(claims: Claims, lines: Lines, rng: np.random.Generator) -> None:
    """duplicate_billing claims become copies of their source, paid and ingested later."""
    dups = np.flatnonzero(claims.scheme == DUPLICATE)
    if dups.size == 0:
        return
    src = claims.source[dups]
    for name in ("member", "provider", "is_inst", "start", "end", "pos", "bill_type", "diagnosis"):
        values = getattr(claims, name)
        values[dups] = values[src]
    shift = rng.integers(14, 121, dups.size)
    claims.paid[dups] = claims.paid[src] + shift
    claims.ingest[dups] = claims.ingest[src] + shift * US_PER_DAY
    dup_rows = np.flatnonzero(claims.scheme[lines.claim] == DUPLICATE)
    src_rows = claims.first_row[claims.source[lines.claim[dup_rows]]] + lines.number[dup_rows] - 1
    for name in (
        "code",
        "units",
        "em",
        "modifiers",
        "start",
        "end",
        "revenue",
        "charge",
        "allowed",
        "paid",
    ):
        values = getattr(lines, name)
        values[dup_rows] = values[src_rows]
