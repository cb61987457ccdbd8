"""Malformed lines: an even share per kind of
:data:`~claims_fraud.synthetic.config.MALFORMED_KINDS`, injected into clean lines before the
Arrow tables are built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from claims_fraud.synthetic.claims import Claims
from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import MALFORMED_KINDS, NONE, GeneratorConfig
from claims_fraud.synthetic.lines import Lines
from claims_fraud.synthetic.parameters import FAKE_PROCEDURE_CODES, US_PER_DAY
from claims_fraud.synthetic.population import Members, Providers, luhn_npis

AMOUNT_COLUMNS = ("paid_amount", "allowed_amount", "charge_amount")


@dataclass
class _Columns:
    """Integer-coded line columns. Id and code columns use a negative value for null; ids at
    or above the known range are unknown ids; amounts are cents with explicit null masks;
    units are float with NaN for null; dates are epoch days; ingest is epoch microseconds."""

    values: dict[str, np.ndarray]
    null: dict[str, np.ndarray]


@dataclass(frozen=True)
class Malformed:
    columns: _Columns
    rows: dict[str, np.ndarray]
    unknown_npis: np.ndarray
    fake_codes: tuple[str, ...]


@dataclass(frozen=True)
class _InjectionContext:
    members: Members
    providers: Providers
    n_codes: int
    n_fake_codes: int


def _line_columns(members: Members, providers: Providers, claims: Claims, lines: Lines) -> _Columns:
    c = lines.claim
    member = claims.member[c].astype(np.int64)
    provider = claims.provider[c].astype(np.int64)
    billing = providers.billing[provider].astype(np.int64)
    values = {
        "claim_id": c.astype(np.int64),
        "claim_line_number": lines.number.astype(np.int64),
        "claim_type": claims.is_inst[c].astype(np.int8),
        "person_id": member,
        "member_id": member.copy(),
        "plan": members.plan[member],
        "claim_start_date": claims.start[c],
        "claim_end_date": claims.end[c],
        "claim_line_start_date": lines.start,
        "claim_line_end_date": lines.end,
        "place_of_service_code": claims.pos[c],
        "bill_type_code": claims.bill_type[c],
        "revenue_center_code": lines.revenue.astype(np.int8),
        "service_unit_quantity": lines.units,
        "hcpcs_code": lines.code.astype(np.int16),
        "hcpcs_modifier_1": lines.modifiers[:, 0],
        "hcpcs_modifier_2": lines.modifiers[:, 1],
        "rendering_npi": provider,
        "billing_npi": billing,
        "facility_npi": np.where(claims.is_inst[c], billing, -1),
        "paid_date": claims.paid[c],
        "paid_amount": lines.paid,
        "allowed_amount": lines.allowed,
        "charge_amount": lines.charge,
        "diagnosis_code_1": claims.diagnosis[c, 0],
        "diagnosis_code_2": claims.diagnosis[c, 1],
        "diagnosis_code_3": claims.diagnosis[c, 2],
        "ingest_datetime": claims.ingest[c],
    }
    return _Columns(values=values, null={name: np.zeros(lines.n, bool) for name in AMOUNT_COLUMNS})


def inject_malformed(
    config: GeneratorConfig,
    ref: Ref,
    members: Members,
    providers: Providers,
    claims: Claims,
    lines: Lines,
    rng: np.random.Generator,
) -> Malformed:
    """Corrupt clean lines (clean claims that no duplicate copies), an even share per kind."""
    columns = _line_columns(members, providers, claims, lines)
    per_kind = round(config.malformed_rate * lines.n / len(MALFORMED_KINDS))
    copied = np.zeros(claims.n, bool)
    copied[claims.source[claims.source >= 0]] = True
    clean = (claims.scheme == NONE)[lines.claim] & ~copied[lines.claim]
    rows, sources = _choose_malformed_rows(members, claims, lines, clean, per_kind, rng)
    fake_codes = tuple(code for code in FAKE_PROCEDURE_CODES if code not in ref.codes)
    context = _InjectionContext(members, providers, len(ref.codes), len(fake_codes))
    _inject_duplicate_line(columns, sources, rows["duplicate_line"], rng)
    for kind in MALFORMED_KINDS:  # loop over the twelve kinds
        if kind != "duplicate_line":
            INJECTORS[kind](columns, rows[kind], rng, context)
    unknown_npis = _unknown_npis(providers.npi, rows["unknown_provider"].size, rng)
    return Malformed(
        columns=columns,
        rows={kind: np.sort(rows[kind]) for kind in MALFORMED_KINDS},
        unknown_npis=unknown_npis,
        fake_codes=fake_codes,
    )


def _choose_malformed_rows(
    members: Members,
    claims: Claims,
    lines: Lines,
    clean: np.ndarray,
    per_kind: int,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Disjoint row sets per kind, plus the rows that duplicate_line targets copy."""
    taken = ~clean
    member = claims.member[lines.claim]
    room_after_death = members.has_death[member] & (
        members.death_span_end[member] > members.death[member]
    )
    after_death = _take_rows(rng, room_after_death, per_kind, taken)
    nlines = claims.nlines[lines.claim]
    targets = _take_rows(rng, (lines.number == nlines) & (nlines >= 2), per_kind, taken)
    kinds = [kind for kind in MALFORMED_KINDS if kind != "after_death"]
    pool = _take_rows(rng, np.ones(lines.n, bool), per_kind * len(kinds), taken)
    rows = {kind: pool[i * per_kind : (i + 1) * per_kind] for i, kind in enumerate(kinds)}
    sources = rows["duplicate_line"][: targets.size]
    rows["duplicate_line"] = targets[: sources.size]
    rows["after_death"] = after_death
    return rows, sources


def _take_rows(
    rng: np.random.Generator, mask: np.ndarray, size: int, taken: np.ndarray
) -> np.ndarray:
    candidates = np.flatnonzero(mask & ~taken)
    chosen = rng.choice(candidates, size=min(size, candidates.size), replace=False)
    taken[chosen] = True
    return chosen


def _variant(rng: np.random.Generator, rows: np.ndarray, n_variants: int) -> list[np.ndarray]:
    which = rng.integers(0, n_variants, rows.size)
    return [rows[which == k] for k in range(n_variants)]


def _days_between(rng: np.random.Generator, size: int, low: int, high: int) -> np.ndarray:
    return rng.integers(low, high + 1, size)


def _inject_duplicate_line(
    columns: _Columns, sources: np.ndarray, targets: np.ndarray, rng: np.random.Generator
) -> None:
    """Overwrite the target rows with exact copies of the sources, ingested 1-30 days later."""
    for values in (*columns.values.values(), *columns.null.values()):
        values[targets] = values[sources]
    delay = _days_between(rng, targets.size, 1, 30) * US_PER_DAY
    columns.values["ingest_datetime"][targets] += delay + rng.integers(0, US_PER_DAY, targets.size)


def _inject_null_key(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    for name, part in zip(
        ("claim_id", "claim_line_number", "person_id"), _variant(rng, rows, 3), strict=True
    ):
        columns.values[name][part] = -1


def _inject_non_positive_amount(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    """paid 0 or negative, or allowed / charge null (keeps paid <= allowed <= charge)."""
    zero, negative, no_allowed, no_charge = _variant(rng, rows, 4)
    paid = columns.values["paid_amount"]
    paid[zero] = 0
    paid[negative] = -paid[negative]
    columns.null["allowed_amount"][no_allowed] = True
    columns.null["charge_amount"][no_charge] = True


def _inject_amount_inconsistent(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    """paid above allowed, or allowed above charge (all amounts stay positive)."""
    over_allowed, over_charge = _variant(rng, rows, 2)
    values = columns.values
    for part, target, bound in (
        (over_allowed, "paid_amount", "allowed_amount"),
        (over_charge, "allowed_amount", "charge_amount"),
    ):
        excess = np.floor(values[bound][part] * rng.uniform(0.05, 0.5, part.size))
        values[target][part] = values[bound][part] + np.maximum(excess, 1).astype(np.int64)


def _inject_end_before_start(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    line, header = _variant(rng, rows, 2)
    values = columns.values
    values["claim_line_end_date"][line] = values["claim_line_start_date"][line] - _days_between(
        rng, line.size, 1, 30
    )
    values["claim_end_date"][header] = values["claim_start_date"][header] - _days_between(
        rng, header.size, 1, 30
    )


def _inject_future_date(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    """paid_date, claim_line_end_date or claim_end_date after the ingest date."""
    values = columns.values
    for name, part in zip(
        ("paid_date", "claim_line_end_date", "claim_end_date"), _variant(rng, rows, 3), strict=True
    ):
        ingest_day = values["ingest_datetime"][part] // US_PER_DAY
        values[name][part] = ingest_day + _days_between(rng, part.size, 1, 60)


def _inject_outside_enrollment(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    """Service 1-60 days before the member's first enrollment span (alive, known member)."""
    values = columns.values
    first_start = context.members.span_start[values["person_id"][rows], 0]
    day = first_start - _days_between(rng, rows.size, 1, 60)
    values["claim_line_start_date"][rows] = day
    values["claim_line_end_date"][rows] = day


def _inject_after_death(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    """Service 1-30 days after death but inside the (retro-terminated) enrollment span."""
    values = columns.values
    member = values["person_id"][rows]
    death = context.members.death[member]
    room = np.minimum(context.members.death_span_end[member] - death, 30)
    day = death + 1 + np.floor(rng.random(rows.size) * room).astype(np.int64)
    values["claim_line_start_date"][rows] = day
    values["claim_line_end_date"][rows] = day
    ingest = values["ingest_datetime"]
    late = rows[ingest[rows] // US_PER_DAY < day]
    late_day = values["claim_line_start_date"][late] + _days_between(rng, late.size, 1, 5)
    ingest[late] = late_day * US_PER_DAY + rng.integers(0, US_PER_DAY, late.size)


def _inject_unknown_member(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    unknown = context.members.n + rng.permutation(rows.size)
    columns.values["person_id"][rows] = unknown
    columns.values["member_id"][rows] = unknown


def _inject_unknown_provider(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    columns.values["rendering_npi"][rows] = context.providers.n + rng.permutation(rows.size)


def _inject_unknown_procedure(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    missing, fake = _variant(rng, rows, 2)
    codes = columns.values["hcpcs_code"]
    codes[missing] = -1
    codes[fake] = context.n_codes + rng.integers(0, max(context.n_fake_codes, 1), fake.size)
    if context.n_fake_codes == 0:
        codes[fake] = -1


def _inject_invalid_units(
    columns: _Columns, rows: np.ndarray, rng: np.random.Generator, context: _InjectionContext
) -> None:
    missing, zero, negative, huge = _variant(rng, rows, 4)
    units = columns.values["service_unit_quantity"]
    units[missing] = np.nan
    units[zero] = 0.0
    units[negative] = -units[negative]
    units[huge] = 500.0 + rng.integers(1, 9500, huge.size)


_Injector = Callable[[_Columns, np.ndarray, np.random.Generator, _InjectionContext], None]
INJECTORS: Mapping[str, _Injector] = {
    "null_key": _inject_null_key,
    "non_positive_amount": _inject_non_positive_amount,
    "amount_inconsistent": _inject_amount_inconsistent,
    "end_before_start": _inject_end_before_start,
    "future_date": _inject_future_date,
    "outside_enrollment": _inject_outside_enrollment,
    "after_death": _inject_after_death,
    "unknown_member": _inject_unknown_member,
    "unknown_provider": _inject_unknown_provider,
    "unknown_procedure": _inject_unknown_procedure,
    "invalid_units": _inject_invalid_units,
}


def _unknown_npis(known: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    candidates = luhn_npis(rng.choice(200_000_000, size=size + 64, replace=False) + 100_000_000)
    return candidates[~np.isin(candidates, known)][:size]
