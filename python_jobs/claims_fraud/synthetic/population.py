"""The period (seasonal day weights), members (demographics, enrollment spans, deaths) and
providers (specialties, billing organisations, NPIs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import (
    AGE_GROUPS,
    GENDERS,
    MIN_MEMBERS,
    MIN_PROVIDERS,
    RACES,
    GeneratorConfig,
)
from claims_fraud.synthetic.parameters import (
    AGE_CLAIM_FACTOR,
    AGE_GROUP_BOUNDS,
    AGE_GROUP_P,
    DEATH_P,
    ENROLLMENT_KIND_P,
    GENDER_P,
    LINES_PER_MEMBER,
    LINES_PER_PROVIDER,
    NO_DAY,
    PLAN_P_BY_AGE,
    RACE_P,
)
from claims_fraud.synthetic.sampling import (
    cumulative_rows,
    epoch_day,
    month_end,
    month_start,
    sample_table_rows,
)


@dataclass(frozen=True)
class Period:
    start: int  # epoch days, inclusive
    end: int
    cum_weight: np.ndarray  # seasonal day weights, cumulative from start (length n_days + 1)
    drift_day: int  # NO_DAY when no drift

    @property
    def n_days(self) -> int:
        return self.end - self.start + 1

    def uniform_cum(self) -> np.ndarray:
        return np.arange(self.n_days + 1, dtype=np.float64)


def build_period(config: GeneratorConfig) -> Period:
    start, end = epoch_day(config.start_date), epoch_day(config.end_date)
    days = np.arange(start, end + 1)
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    season = 1.0 + 0.18 * np.cos(2 * np.pi * month / 12)  # winter peak
    week = np.where(weekday == 5, 0.45, np.where(weekday == 6, 0.3, 1.0))
    cum = np.concatenate(([0.0], np.cumsum(season * week)))
    drift = epoch_day(config.drift_start) if config.drift_start else NO_DAY
    return Period(start=start, end=end, cum_weight=cum, drift_day=drift)


@dataclass
class Members:
    n: int
    gender: np.ndarray
    race: np.ndarray
    birth: np.ndarray
    state: np.ndarray
    zip_code: np.ndarray
    plan: np.ndarray
    death: np.ndarray  # NO_DAY when alive at the end of the period
    span_start: np.ndarray  # (n, 2) recorded enrollment spans; second empty when start > end
    span_end: np.ndarray
    window_lo: np.ndarray  # (n, 2) days inside the period, enrolled and alive
    window_hi: np.ndarray
    outside_lo: np.ndarray  # (n, 3) days inside the period, not enrolled or after death
    outside_hi: np.ndarray
    death_span_end: np.ndarray  # recorded end of the span holding the death day, else -NO_DAY
    claim_weight: np.ndarray
    stable: np.ndarray  # enrolled and alive on every day of the period

    @property
    def has_death(self) -> np.ndarray:
        return self.death < NO_DAY


def build_members(
    config: GeneratorConfig, ref: Ref, period: Period, rng: np.random.Generator
) -> Members:
    n = max(config.n_lines // LINES_PER_MEMBER, MIN_MEMBERS)
    age_group = rng.choice(len(AGE_GROUPS), n, p=AGE_GROUP_P)
    bounds = np.array(AGE_GROUP_BOUNDS)[age_group]
    age_days = (bounds[:, 0] + rng.random(n) * (bounds[:, 1] - bounds[:, 0])) * 365.25
    birth = period.start - np.floor(age_days).astype(np.int64)
    plan_cum = cumulative_rows(np.array(PLAN_P_BY_AGE))
    plan = sample_table_rows(plan_cum, age_group, rng.random(n)).astype(np.int8)
    span_start, span_end = _draw_spans(n, period, rng)
    death = _draw_deaths(age_group, span_start, period, rng)
    span_start, span_end, death_span_end = _truncate_spans_at_death(
        span_start, span_end, death, rng
    )
    window_lo = np.maximum(span_start, period.start)
    window_hi = np.minimum(np.minimum(span_end, death[:, None]), period.end)
    outside_lo, outside_hi = _outside_windows(window_lo, window_hi, period)
    window_weight = np.where(
        window_hi >= window_lo,
        period.cum_weight[np.clip(window_hi - period.start + 1, 0, period.n_days)]
        - period.cum_weight[np.clip(window_lo - period.start, 0, period.n_days)],
        0.0,
    ).sum(axis=1)
    propensity = rng.lognormal(0.0, 0.85, n) * np.array(AGE_CLAIM_FACTOR)[age_group]
    return Members(
        n=n,
        gender=rng.choice(len(GENDERS), n, p=GENDER_P).astype(np.int8),
        race=rng.choice(len(RACES), n, p=RACE_P).astype(np.int8),
        birth=birth,
        state=rng.choice(len(ref.states), n, p=ref.state_weight).astype(np.int16),
        zip_code=rng.integers(1001, 99951, n),
        plan=plan,
        death=death,
        span_start=span_start,
        span_end=span_end,
        window_lo=window_lo,
        window_hi=window_hi,
        outside_lo=outside_lo,
        outside_hi=outside_hi,
        death_span_end=death_span_end,
        claim_weight=propensity * window_weight,
        stable=(window_lo[:, 0] == period.start) & (window_hi[:, 0] == period.end),
    )


def _draw_spans(n: int, period: Period, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Recorded enrollment spans (n, 2): full, two spans with a gap, joining or leaving."""
    s, e, d = period.start, period.end, period.n_days
    kind = rng.choice(len(ENROLLMENT_KIND_P), n, p=ENROLLMENT_KIND_P)
    early_start = month_start(s - rng.integers(0, 1500, n))
    join_start = month_start(s + np.floor(rng.uniform(0.05, 0.8, n) * d).astype(np.int64))
    leave_end = month_end(s + np.floor(rng.uniform(0.2, 0.95, n) * d).astype(np.int64))
    gap_from = month_end(s + np.floor(rng.uniform(0.1, 0.6, n) * d).astype(np.int64))
    gap_len = 31 + np.floor(rng.random(n) * max(d * 0.2, 1.0)).astype(np.int64)
    second_start = month_start(gap_from + 1 + gap_len)
    full_end = np.full(n, month_end(np.array([e]))[0])
    start1 = np.where(kind == 2, join_start, early_start)
    end1 = np.select([kind == 1, kind == 3], [gap_from, leave_end], full_end)
    has_second = (kind == 1) & (second_start <= e - 14)
    end1 = np.where((kind == 1) & ~has_second, gap_from, end1)
    start2 = np.where(has_second, second_start, NO_DAY)
    end2 = np.where(has_second, full_end, -NO_DAY)
    return np.stack([start1, start2], axis=1), np.stack([end1, end2], axis=1)


def _draw_deaths(
    age_group: np.ndarray, span_start: np.ndarray, period: Period, rng: np.random.Generator
) -> np.ndarray:
    earliest = np.maximum(span_start[:, 0], period.start) + 30
    dies = (rng.random(age_group.size) < np.array(DEATH_P)[age_group]) & (earliest <= period.end)
    room = np.maximum(period.end - earliest + 1, 1)
    day = earliest + np.floor(rng.random(age_group.size) * room).astype(np.int64)
    return np.where(dies, day, NO_DAY)


def _truncate_spans_at_death(
    span_start: np.ndarray, span_end: np.ndarray, death: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop spans starting after death; end the death span 15-90 days after death (retro term)."""
    start, end = span_start.copy(), span_end.copy()
    late = start > death[:, None]
    start[late], end[late] = NO_DAY, -NO_DAY
    lag = rng.integers(15, 91, death.size)
    holds_death = (start <= death[:, None]) & (end >= death[:, None])
    end = np.where(holds_death, np.minimum(end, (death + lag)[:, None]), end)
    death_span_end = np.where(holds_death, end, -NO_DAY).max(axis=1)
    return start, end, death_span_end


def _outside_windows(
    window_lo: np.ndarray, window_hi: np.ndarray, period: Period
) -> tuple[np.ndarray, np.ndarray]:
    has_second = window_hi[:, 1] >= window_lo[:, 1]
    last_hi = np.where(has_second, window_hi[:, 1], window_hi[:, 0])
    lo = np.stack([np.full(window_lo.shape[0], period.start), window_hi[:, 0] + 1, last_hi + 1])
    hi = np.stack(
        [
            window_lo[:, 0] - 1,
            np.where(has_second, window_lo[:, 1] - 1, -NO_DAY),
            np.full(window_lo.shape[0], period.end),
        ]
    )
    return lo.T, hi.T


@dataclass
class Providers:
    n: int
    n_rendering: int
    spec: np.ndarray
    state: np.ndarray
    entity: np.ndarray  # 1 individual, 2 organization
    npi: np.ndarray  # int64, 10 digits
    weight: np.ndarray  # claim volume weight; 0 for group organizations
    billing: np.ndarray  # billing organization per provider (itself for organizations)

    @property
    def rendering(self) -> np.ndarray:
        return np.arange(self.n_rendering)


def build_providers(config: GeneratorConfig, ref: Ref, rng: np.random.Generator) -> Providers:
    n_target = max(config.n_lines // LINES_PER_PROVIDER, MIN_PROVIDERS)
    counts = _largest_remainder(ref.spec_weight, round(0.8 * n_target))
    spec = np.repeat(np.arange(ref.n_spec), counts).astype(np.int16)
    n_rend = spec.size
    state = rng.choice(len(ref.states), n_rend, p=ref.state_weight).astype(np.int16)
    weight = rng.lognormal(0.0, 1.2, n_rend)
    group_of, group_spec, group_state = _group_practices(spec, state, ref, rng)
    billing = np.where(group_of >= 0, n_rend + group_of, np.arange(n_rend))
    n_all = n_rend + group_spec.size
    return Providers(
        n=n_all,
        n_rendering=n_rend,
        spec=np.concatenate([spec, group_spec]),
        state=np.concatenate([state, group_state]),
        entity=np.concatenate([ref.spec_entity[spec], np.full(group_spec.size, 2, np.int8)]),
        npi=luhn_npis(rng.choice(200_000_000, size=n_all, replace=False) + 100_000_000),
        weight=np.concatenate([weight, np.zeros(group_spec.size)]),
        billing=np.concatenate([billing, np.arange(n_rend, n_all)]),
    )


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` summing to ``total``, each at least 1."""
    share = weights / weights.sum() * max(total - weights.size, 0)
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: max(total - weights.size, 0) - counts.sum()]] += 1
    return counts + 1


def _group_practices(
    spec: np.ndarray, state: np.ndarray, ref: Ref, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group individuals (same specialty and state) into billing organizations."""
    group_of = np.full(spec.size, -1, np.int64)
    individuals = np.flatnonzero(ref.spec_entity[spec] == 1)
    order = individuals[np.lexsort((state[individuals], spec[individuals]))]
    key = spec[order].astype(np.int64) * 1000 + state[order]
    new_block = np.concatenate(([True], key[1:] != key[:-1]))
    starts_group = new_block | (rng.random(order.size) < 0.3)
    group_of[order] = np.cumsum(starts_group) - 1
    return group_of, spec[order][starts_group], state[order][starts_group]


def luhn_npis(base: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit (with the 80840 prefix) to 9-digit NPI bases."""
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    doubled = digits[:, 0::2] * 2
    total = 24 + np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + digits[:, 1::2].sum(1)
    return base * 10 + (10 - total % 10) % 10
