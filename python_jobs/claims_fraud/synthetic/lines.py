"""Service lines: codes (E/M, services, unbundled splits), units, dates, modifiers, and the
claim-level place of service, bill type and diagnoses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from claims_fraud.synthetic.claims import Claims
from claims_fraud.synthetic.compiled_reference import (
    TABLE_EM,
    TABLE_SERVICE,
    TABLE_TIME,
    TABLE_UNITS,
    TABLE_UPCODED,
    Ref,
)
from claims_fraud.synthetic.config import (
    EXCESSIVE,
    IMPOSSIBLE,
    UNBUNDLING,
    UPCODING,
    GeneratorConfig,
)
from claims_fraud.synthetic.parameters import (
    DEFAULT_DIAGNOSES,
    DEFAULT_PLACE_OF_SERVICE,
    DEFAULT_REVENUE,
    DIAGNOSES_BY_CATEGORY,
    DRIFT_EXTRA_UNITS,
    EM_FIRST_LINE_P,
    IMPOSSIBLE_DAY_MINUTES,
    INPATIENT_EM_CATEGORY,
    LATERALITY_CATEGORIES,
    LATERALITY_P,
    MODIFIER_25_P,
    MODIFIER_59_P,
    PLACE_OF_SERVICE_BY_CATEGORY,
    REVENUE_BY_CATEGORY,
    SECONDARY_DIAGNOSES,
    TELEHEALTH_BASE_P,
    TELEHEALTH_DRIFT_P,
    TELEHEALTH_ELIGIBLE_CATEGORIES,
    TELEHEALTH_POS,
    UNBUNDLING_MODIFIER_P,
    UNBUNDLING_SPLIT_P,
    US_PER_DAY,
)
from claims_fraud.synthetic.population import Period, Providers
from claims_fraud.synthetic.sampling import cdf_table, sample_in_windows, sample_table_rows


@dataclass
class Lines:
    n: int
    claim: np.ndarray  # line -> claim index
    number: np.ndarray
    code: np.ndarray
    units: np.ndarray
    em: np.ndarray
    modifiers: np.ndarray  # (n, 2) int8, -1 = none
    start: np.ndarray
    end: np.ndarray
    revenue: np.ndarray  # index into revenue_vocabulary(), -1 for professional lines
    charge: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # cents
    allowed: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    paid: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def build_lines(
    config: GeneratorConfig,
    ref: Ref,
    period: Period,
    claims: Claims,
    providers: Providers,
    rngs: Mapping[str, np.random.Generator],
) -> Lines:
    rng = rngs["lines"]
    n = config.n_lines
    claim = np.repeat(np.arange(claims.n), claims.nlines)
    number = np.arange(n) - claims.first_row[claim] + 1
    spec = providers.spec[claims.provider][claim]
    scheme = claims.scheme[claim]
    em = _em_lines(ref, spec, scheme, number, rng.random(n))
    table = np.where(em, np.where(scheme == UPCODING, TABLE_UPCODED, TABLE_EM), TABLE_SERVICE)
    table = np.select([scheme == EXCESSIVE, scheme == IMPOSSIBLE], [TABLE_UNITS, TABLE_TIME], table)
    code = sample_table_rows(ref.code_tables, table * ref.n_spec + spec, rng.random(n))
    code = _split_unbundled(claims, claim, number, em, code, rng.random(n))
    em = ref.em_level[code] > 0
    drift = claims.start[claim] >= period.drift_day
    units = _draw_units(config, ref, code, scheme, drift, rngs["units"])
    _schedule_impossible_days(ref, period, claims, claim, code, units, rng)
    start, end = _line_dates(claims, claim, rng)
    _claim_settings(config, ref, period, claims, code, rng)
    revenue_codes = revenue_vocabulary()
    revenue_of_category = np.array(
        [revenue_codes.index(REVENUE_BY_CATEGORY.get(c, DEFAULT_REVENUE)) for c in ref.categories]
    )
    return Lines(
        n=n,
        claim=claim,
        number=number,
        code=code,
        units=units,
        em=em,
        modifiers=_modifiers(ref, code, em, scheme, rng),
        start=start,
        end=end,
        revenue=np.where(claims.is_inst[claim], revenue_of_category[ref.category[code]], -1),
    )


def _em_lines(
    ref: Ref, spec: np.ndarray, scheme: np.ndarray, number: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Line 1 is usually the E/M visit; E/M-only specialties bill E/M on every line."""
    em_only = ref.has_em[spec] & ~ref.has_svc[spec]
    first = (number == 1) & ref.has_em[spec] & ((u < EM_FIRST_LINE_P) | (scheme == UPCODING))
    return (em_only | first) & (scheme != EXCESSIVE) & (scheme != IMPOSSIBLE)


def _split_unbundled(
    claims: Claims,
    claim: np.ndarray,
    number: np.ndarray,
    em: np.ndarray,
    code: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Unbundling claims repeat their first service code on extra lines (split services)."""
    base_row = claims.first_row + (em[claims.first_row] & (claims.nlines > 1))
    row = np.arange(code.size)
    split = (
        (claims.scheme[claim] == UNBUNDLING)
        & ~em
        & (row > base_row[claim])
        & (u < UNBUNDLING_SPLIT_P)
    )
    code = code.copy()
    code[split] = code[base_row[claim[split]]]
    return code


def _draw_units(
    config: GeneratorConfig,
    ref: Ref,
    code: np.ndarray,
    scheme: np.ndarray,
    drift: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    max_units, typical = ref.max_units[code], ref.typical_units[code]
    extra = np.where(drift & (max_units > 1), DRIFT_EXTRA_UNITS * config.drift_strength, 0.0)
    units = 1 + np.minimum(rng.poisson(typical - 1 + extra), max_units - 1)
    excessive = np.rint(typical * rng.uniform(3.0, 10.0, code.size)).astype(np.int64)
    excessive = np.minimum(np.maximum(excessive, max_units + 1), np.minimum(max_units * 4, 200))
    units = np.select([scheme == EXCESSIVE, scheme == IMPOSSIBLE], [excessive, max_units], units)
    return units.astype(np.float64)


def _schedule_impossible_days(
    ref: Ref,
    period: Period,
    claims: Claims,
    claim: np.ndarray,
    code: np.ndarray,
    units: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Put impossible_days claims of a provider on shared days with > 1440 billed minutes."""
    rows = np.flatnonzero(claims.scheme == IMPOSSIBLE)
    if rows.size == 0:
        return
    minutes = np.bincount(claim, np.nan_to_num(ref.minutes[code]) * units, minlength=claims.n)
    rows = rows[np.argsort(claims.provider[rows], kind="stable")]
    provider, claim_minutes = claims.provider[rows], minutes[rows]
    starts = np.flatnonzero(np.concatenate(([True], provider[1:] != provider[:-1])))
    block = np.cumsum(np.isin(np.arange(rows.size), starts)) - 1
    rank = np.arange(rows.size) - starts[block]
    size = np.diff(np.append(starts, rows.size))
    per_day = np.ceil(
        IMPOSSIBLE_DAY_MINUTES / np.maximum(np.minimum.reduceat(claim_minutes, starts), 1)
    ).astype(np.int64)
    last_day = np.maximum(size // per_day - 1, 0)
    day_of = np.minimum(rank // per_day[block], last_day[block])
    day_offset = np.concatenate(([0], np.cumsum(last_day + 1)))
    group = day_offset[block] + day_of
    days, _ = sample_in_windows(
        np.full((day_offset[-1], 1), period.start),
        np.full((day_offset[-1], 1), period.end),
        period.cum_weight,
        period.start,
        rng.random(day_offset[-1]),
    )
    claims.start[rows] = days[group]
    claims.end[rows] = days[group]


def _line_dates(
    claims: Claims, claim: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    cs, ce = claims.start[claim], claims.end[claim]
    start = cs + np.floor(rng.random(claim.size) * (ce - cs + 1)).astype(np.int64)
    spread = np.floor(rng.random(claim.size) * (ce - start + 1)).astype(np.int64)
    end = np.where(claims.is_inst[claim], start + spread, start)
    lag = 2 + np.minimum(np.floor(rng.gamma(2.0, 6.0, claims.n)), 58).astype(np.int64)
    claims.paid = claims.end + lag
    ingest_day = claims.paid + rng.integers(1, 6, claims.n)
    claims.ingest = ingest_day * US_PER_DAY + rng.integers(0, US_PER_DAY, claims.n)
    return start, end


def _claim_settings(
    config: GeneratorConfig,
    ref: Ref,
    period: Period,
    claims: Claims,
    code: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Place of service, bill type and diagnoses from the claim's first line."""
    primary = ref.category[code[claims.first_row]]
    mappings = [
        PLACE_OF_SERVICE_BY_CATEGORY.get(c, DEFAULT_PLACE_OF_SERVICE) for c in ref.categories
    ]
    pos_codes = place_of_service_vocabulary()
    pos = sample_table_rows(cdf_table(mappings, pos_codes), primary, rng.random(claims.n))
    tele_eligible = np.isin(primary, _category_indices(ref, TELEHEALTH_ELIGIBLE_CATEGORIES))
    drift = claims.start >= period.drift_day
    tele_p = TELEHEALTH_BASE_P + np.where(drift, TELEHEALTH_DRIFT_P * config.drift_strength, 0.0)
    tele = tele_eligible & (rng.random(claims.n) < np.minimum(tele_p, 0.9))
    pos = np.where(tele, pos_codes.index(TELEHEALTH_POS), pos)
    claims.pos = np.where(claims.is_inst, -1, pos).astype(np.int8)
    inpatient = primary == ref.categories.index(INPATIENT_EM_CATEGORY)
    critical_access = rng.random(claims.n) < 0.08
    bill = np.where(inpatient, 0, np.where(critical_access, 2, 1))
    claims.bill_type = np.where(claims.is_inst, bill, -1).astype(np.int8)
    claims.diagnosis = _diagnoses(ref, primary, rng)


def _category_indices(ref: Ref, names: tuple[str, ...]) -> list[int]:
    return [ref.categories.index(name) for name in names if name in ref.categories]


def place_of_service_vocabulary() -> tuple[str, ...]:
    codes = {c: None for m in PLACE_OF_SERVICE_BY_CATEGORY.values() for c in m}
    return tuple(dict.fromkeys([*codes, *DEFAULT_PLACE_OF_SERVICE, TELEHEALTH_POS]))


def diagnosis_vocabulary() -> tuple[str, ...]:
    everything = [*DEFAULT_DIAGNOSES, *SECONDARY_DIAGNOSES]
    for codes in DIAGNOSES_BY_CATEGORY.values():
        everything.extend(codes)
    return tuple(dict.fromkeys(everything))


def _diagnoses(ref: Ref, primary: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Claim-level diagnoses (n, 3) as indices into :func:`diagnosis_vocabulary`; -1 = none."""
    vocabulary = diagnosis_vocabulary()
    lists = [DIAGNOSES_BY_CATEGORY.get(c, DEFAULT_DIAGNOSES) for c in ref.categories]
    flat = np.array([vocabulary.index(code) for codes in lists for code in codes])
    sizes = np.array([len(codes) for codes in lists])
    offsets = np.concatenate(([0], np.cumsum(sizes)))[:-1]
    n = primary.size
    size, offset = sizes[primary], offsets[primary]
    first = np.floor(rng.random(n) * size).astype(np.int64)
    second = (first + 1 + np.floor(rng.random(n) * np.maximum(size - 1, 1))) % size
    secondary = np.array([vocabulary.index(c) for c in SECONDARY_DIAGNOSES])
    third = secondary[rng.integers(0, secondary.size, n)]
    has_second = (rng.random(n) < 0.45) & (size > 1)
    has_third = rng.random(n) < 0.2
    return np.stack(
        [
            flat[offset + first],
            np.where(has_second, flat[offset + second.astype(np.int64)], -1),
            np.where(has_third, third, -1),
        ],
        axis=1,
    ).astype(np.int16)


def _modifiers(
    ref: Ref,
    code: np.ndarray,
    em: np.ndarray,
    scheme: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """25 on some E/M lines, 59 on some other lines, LT/RT on some procedures and imaging."""
    n = code.size
    unbundling = scheme == UNBUNDLING
    u = rng.random(n)
    p25 = np.where(unbundling, UNBUNDLING_MODIFIER_P, MODIFIER_25_P)
    p59 = np.where(unbundling, UNBUNDLING_MODIFIER_P, MODIFIER_59_P)
    first = np.where(em & (u < p25), 0, np.where(~em & (u < p59), 1, -1))
    lateral_categories = _category_indices(ref, LATERALITY_CATEGORIES)
    lateral = np.isin(ref.category[code], lateral_categories) & (rng.random(n) < LATERALITY_P)
    side = np.where(rng.random(n) < 0.5, 2, 3)
    mod1 = np.where(first >= 0, first, np.where(lateral, side, -1))
    mod2 = np.where((first >= 0) & lateral, side, -1)
    return np.stack([mod1, mod2], axis=1).astype(np.int8)


def revenue_vocabulary() -> tuple[str, ...]:
    return tuple(dict.fromkeys([*REVENUE_BY_CATEGORY.values(), DEFAULT_REVENUE]))
