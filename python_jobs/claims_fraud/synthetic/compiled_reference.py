"""The dbt seeds compiled into arrays: per-specialty code probability tables (E/M mix,
upcoded E/M, services, unit-based, time-based) and state weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from claims_fraud.features.reference import (
    EM_SHARE_COLUMNS,
    ReferenceData,
    specialty_service_categories,
)
from claims_fraud.synthetic.config import GeneratorConfig
from claims_fraud.synthetic.parameters import (
    IMPOSSIBLE_MIN_LINE_MINUTES,
    INPATIENT_EM_CATEGORY,
    INSTITUTIONAL_SHARE,
    STATE_POPULATION_M,
    UPCODED_LEVEL_SHARES,
)
from claims_fraud.synthetic.sampling import cumulative_rows


@dataclass(frozen=True)
class Ref:
    codes: tuple[str, ...]
    categories: tuple[str, ...]
    category: np.ndarray  # per code: index into categories
    em_level: np.ndarray  # per code: 0 when not E/M
    minutes: np.ndarray  # per code: typical minutes per unit, NaN when not time based
    log_median: np.ndarray
    sigma: np.ndarray
    max_units: np.ndarray
    typical_units: np.ndarray
    specialties: tuple[str, ...]
    spec_entity: np.ndarray  # 1 individual, 2 organization
    spec_weight: np.ndarray
    spec_inst_share: np.ndarray
    spec_inpatient: np.ndarray
    has_em: np.ndarray
    has_svc: np.ndarray
    has_unit: np.ndarray
    has_time: np.ndarray
    code_tables: np.ndarray  # (5 * n_spec, n_codes) cumulative: em, upcoded em, svc, unit, time
    states: tuple[str, ...]
    state_weight: np.ndarray
    state_region: np.ndarray
    regions: tuple[str, ...]

    @property
    def n_spec(self) -> int:
        return len(self.specialties)


TABLE_EM, TABLE_UPCODED, TABLE_SERVICE, TABLE_UNITS, TABLE_TIME = range(5)


def compile_reference(reference: ReferenceData) -> Ref:
    procedures, specialties = reference.procedure_codes, reference.specialties
    categories = tuple(dict.fromkeys(procedures["service_category"].tolist()))
    category = np.array([categories.index(c) for c in procedures["service_category"]], np.int16)
    em_level = procedures["em_level"].fillna(0).to_numpy(np.int64)
    minutes = procedures["typical_minutes"].to_numpy(np.float64)
    max_units = procedures["max_units_per_line"].to_numpy(np.int64)
    median = procedures["median_charge_usd"].to_numpy(np.float64)
    spec_categories = specialty_service_categories(specialties)
    em_family = [c if pd.notna(c) else None for c in specialties["bills_em_category"]]
    names = tuple(specialties["provider_specialty"].tolist())
    tables = _code_probabilities(
        categories,
        category,
        em_level,
        minutes,
        max_units,
        median,
        em_family,
        spec_categories,
        specialties.loc[:, list(EM_SHARE_COLUMNS)].fillna(0.0).to_numpy(np.float64),
        names,
    )
    has = tables.reshape(5, len(names), -1).sum(axis=2) > 0
    regions_frame = reference.state_regions
    regions = tuple(dict.fromkeys(regions_frame["region"].tolist()))
    states = tuple(regions_frame["state"].tolist())
    state_weight = np.array([STATE_POPULATION_M.get(s, 1.0) for s in states])
    return Ref(
        codes=tuple(procedures["hcpcs_code"].tolist()),
        categories=categories,
        category=category,
        em_level=em_level,
        minutes=minutes,
        log_median=np.log(median),
        sigma=procedures["charge_log_sigma"].to_numpy(np.float64),
        max_units=max_units,
        typical_units=np.maximum(1, np.rint(max_units / 4)).astype(np.int64),
        specialties=names,
        spec_entity=specialties["entity_type"].astype(int).to_numpy(np.int8),
        spec_weight=specialties["provider_weight"].to_numpy(np.float64),
        spec_inst_share=np.array([INSTITUTIONAL_SHARE.get(n, 0.0) for n in names]),
        spec_inpatient=np.array([f == INPATIENT_EM_CATEGORY for f in em_family]),
        has_em=has[TABLE_EM],
        has_svc=has[TABLE_SERVICE],
        has_unit=has[TABLE_UNITS],
        has_time=has[TABLE_TIME],
        code_tables=cumulative_rows(tables),
        states=states,
        state_weight=state_weight / state_weight.sum(),
        state_region=np.array([regions.index(r) for r in regions_frame["region"]], np.int16),
        regions=regions,
    )


def _code_probabilities(
    categories: tuple[str, ...],
    category: np.ndarray,
    em_level: np.ndarray,
    minutes: np.ndarray,
    max_units: np.ndarray,
    median: np.ndarray,
    em_family: list[str | None],
    spec_categories: list[tuple[str, ...]],
    em_shares: np.ndarray,
    names: tuple[str, ...],
) -> np.ndarray:
    """Per specialty code probabilities for the five line kinds, shape (5 * n_spec, n_codes)."""
    n_spec, n_codes = len(names), len(category)
    out = np.zeros((5, n_spec, n_codes))
    frequency = median**-0.5  # cheaper services are billed more often
    timed = np.nan_to_num(minutes) * max_units >= IMPOSSIBLE_MIN_LINE_MINUTES
    for s in range(n_spec):  # loop over specialties (reference rows), not over data rows
        in_family = np.zeros(n_codes, bool)
        if em_family[s] is not None:
            in_family = category == categories.index(em_family[s])
            out[TABLE_EM, s] = _em_mix(em_level, in_family, em_shares[s], names[s])
            out[TABLE_UPCODED, s] = _em_mix(em_level, in_family, UPCODED_LEVEL_SHARES, names[s])
        in_service = np.isin(category, [categories.index(c) for c in spec_categories[s]])
        per_category = np.bincount(category, weights=frequency * in_service, minlength=64)
        service = np.where(in_service, frequency / np.maximum(per_category[category], 1e-12), 0)
        out[TABLE_SERVICE, s] = service
        out[TABLE_UNITS, s] = np.where(max_units > 1, service, 0.0)
        out[TABLE_TIME, s] = ((in_service | in_family) & timed).astype(float)
    return out.reshape(5 * n_spec, n_codes)


def _em_mix(em_level: np.ndarray, in_family: np.ndarray, shares: object, name: str) -> np.ndarray:
    shares = np.asarray(shares, np.float64)
    level_counts = np.bincount(em_level[in_family], minlength=6)[1:6]
    usable = np.where(level_counts > 0, shares, 0.0)
    if usable.sum() <= 0:
        raise ValueError(f"ref_specialties: {name} has no E/M share on a level that has codes")
    per_level = usable / usable.sum() / np.maximum(level_counts, 1)
    return np.where(in_family & (em_level > 0), per_level[np.clip(em_level - 1, 0, 4)], 0.0)


def check_config_against_reference(config: GeneratorConfig, reference: ReferenceData) -> None:
    """Raise ValueError for options that only the seeds can check (the census region)."""
    regions = tuple(dict.fromkeys(reference.state_regions["region"].tolist()))
    if config.bias_attribute == "region" and config.bias_group not in regions:
        raise ValueError(
            f"bias_group for region must be one of {regions}, got {config.bias_group!r}"
        )
