"""Deterministic, vectorised synthetic health-insurance claims generator.

Everything is built from numpy arrays (no Python loops over members, claims or lines) and turned
into Arrow tables at the end. Reference codes, E/M mixes, charges and regions come from the dbt
seeds via :mod:`claims_fraud.features.reference`. The same config and seed give identical tables.

Tables: ``medical_claim`` (Tuva input layer, one row per claim line), ``eligibility`` (one row per
enrollment span), ``provider``, ``siu_investigation`` and ``fraud_ground_truth``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from claims_fraud.features.reference import (
    EM_SHARE_COLUMNS,
    ReferenceData,
    load_reference,
    specialty_service_categories,
)
from claims_fraud.synthetic import demo_folder

GENERATOR_VERSION = "1.0.0"
MANIFEST_FILE = "_manifest.json"
DATA_SOURCE = "synthetic_claims"
DIAGNOSIS_CODE_TYPE = "icd-10-cm"
DEFAULT_ROW_GROUP_SIZE = 1_000_000

TABLE_NAMES = (
    "medical_claim",
    "eligibility",
    "provider",
    "siu_investigation",
    "fraud_ground_truth",
)
MALFORMED_KINDS = (
    "null_key",
    "duplicate_line",
    "non_positive_amount",
    "amount_inconsistent",
    "end_before_start",
    "future_date",
    "outside_enrollment",
    "after_death",
    "unknown_member",
    "unknown_provider",
    "unknown_procedure",
    "invalid_units",
)
GENERATION_STAGES = (
    "members",
    "providers",
    "claims",
    "service lines",
    "amounts",
    "labels",
    "malformed lines",
    "arrow tables",
)
BIAS_ATTRIBUTES = ("gender", "age_group", "region")
GENDERS = ("female", "male", "unknown")
AGE_GROUPS = ("0-17", "18-34", "35-49", "50-64", "65+")
RACES = (
    "white",
    "black or african american",
    "asian",
    "american indian or alaska native",
    "native hawaiian or other pacific islander",
    "other race",
    "unknown",
)
PLANS = ("commercial_ppo", "commercial_hmo", "medicare_advantage", "medicaid_managed")
PAYERS = ("acme_health", "acme_health", "acme_medicare", "acme_medicaid")  # by plan
CLAIM_TYPES = ("professional", "institutional")
SIU_OUTCOMES = ("confirmed_fraud", "no_fraud", "inconclusive")
MODIFIERS = ("25", "59", "LT", "RT")
BILL_TYPES = ("111", "131", "0851")

MEDICAL_CLAIM_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("claim_line_number", pa.int32()),
        ("claim_type", pa.string()),
        ("person_id", pa.string()),
        ("member_id", pa.string()),
        ("payer", pa.string()),
        ("plan", pa.string()),
        ("claim_start_date", pa.date32()),
        ("claim_end_date", pa.date32()),
        ("claim_line_start_date", pa.date32()),
        ("claim_line_end_date", pa.date32()),
        ("place_of_service_code", pa.string()),
        ("bill_type_code", pa.string()),
        ("revenue_center_code", pa.string()),
        ("service_unit_quantity", pa.float64()),
        ("hcpcs_code", pa.string()),
        ("hcpcs_modifier_1", pa.string()),
        ("hcpcs_modifier_2", pa.string()),
        ("rendering_npi", pa.string()),
        ("billing_npi", pa.string()),
        ("facility_npi", pa.string()),
        ("paid_date", pa.date32()),
        ("paid_amount", pa.decimal128(12, 2)),
        ("allowed_amount", pa.decimal128(12, 2)),
        ("charge_amount", pa.decimal128(12, 2)),
        ("diagnosis_code_type", pa.string()),
        ("diagnosis_code_1", pa.string()),
        ("diagnosis_code_2", pa.string()),
        ("diagnosis_code_3", pa.string()),
        ("data_source", pa.string()),
        ("ingest_datetime", pa.timestamp("us")),
    ]
)
ELIGIBILITY_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("member_id", pa.string()),
        ("gender", pa.string()),
        ("race", pa.string()),
        ("birth_date", pa.date32()),
        ("death_date", pa.date32()),
        ("state", pa.string()),
        ("zip_code", pa.string()),
        ("enrollment_start_date", pa.date32()),
        ("enrollment_end_date", pa.date32()),
        ("payer", pa.string()),
        ("plan", pa.string()),
    ]
)
PROVIDER_SCHEMA = pa.schema(
    [
        ("npi", pa.string()),
        ("provider_specialty", pa.string()),
        ("practice_state", pa.string()),
        ("entity_type", pa.string()),
    ]
)
SIU_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("investigation_closed_date", pa.date32()),
        ("outcome", pa.string()),
    ]
)
GROUND_TRUTH_SCHEMA = pa.schema(
    [("claim_id", pa.string()), ("is_fraud", pa.bool_()), ("scheme", pa.string())]
)
SCHEMAS: Mapping[str, pa.Schema] = {
    "medical_claim": MEDICAL_CLAIM_SCHEMA,
    "eligibility": ELIGIBILITY_SCHEMA,
    "provider": PROVIDER_SCHEMA,
    "siu_investigation": SIU_SCHEMA,
    "fraud_ground_truth": GROUND_TRUTH_SCHEMA,
}

# --- model parameters (not reference data: the seeds hold codes, charges and specialties) ----
MIN_LINES = 100
MIN_MEMBERS = 200
MIN_PROVIDERS = 120
MIN_PERIOD_DAYS = 60
LINES_PER_MEMBER = 20
LINES_PER_PROVIDER = 800
EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
NO_DAY = 10**7  # sentinel epoch day far in the future ("no death", "no second span")

GENDER_P = (0.508, 0.489, 0.003)
RACE_P = (0.60, 0.13, 0.06, 0.01, 0.003, 0.09, 0.107)
AGE_GROUP_P = (0.21, 0.22, 0.19, 0.20, 0.18)
AGE_GROUP_BOUNDS = ((0, 18), (18, 35), (35, 50), (50, 65), (65, 95))
AGE_CLAIM_FACTOR = (0.6, 0.6, 0.85, 1.2, 2.0)
DEATH_P = (0.0015, 0.002, 0.004, 0.01, 0.045)
PLAN_P_BY_AGE = (
    (0.38, 0.27, 0.00, 0.35),
    (0.47, 0.36, 0.00, 0.17),
    (0.50, 0.36, 0.00, 0.14),
    (0.50, 0.36, 0.00, 0.14),
    (0.09, 0.06, 0.85, 0.00),
)
ENROLLMENT_KIND_P = (0.70, 0.10, 0.10, 0.10)  # full, two spans with a gap, joins, leaves
# Approximate 2020 census population (millions) for the state mix; states not listed weigh 1.0.
STATE_POPULATION_M = {
    "AL": 5.0, "AK": 0.73, "AZ": 7.2, "AR": 3.0, "CA": 39.5, "CO": 5.8, "CT": 3.6, "DE": 1.0,
    "DC": 0.69, "FL": 21.5, "GA": 10.7, "HI": 1.46, "ID": 1.8, "IL": 12.8, "IN": 6.8, "IA": 3.2,
    "KS": 2.9, "KY": 4.5, "LA": 4.7, "ME": 1.36, "MD": 6.2, "MA": 7.0, "MI": 10.1, "MN": 5.7,
    "MS": 2.96, "MO": 6.15, "MT": 1.08, "NE": 1.96, "NV": 3.1, "NH": 1.38, "NJ": 9.3, "NM": 2.1,
    "NY": 20.2, "NC": 10.4, "ND": 0.78, "OH": 11.8, "OK": 3.96, "OR": 4.24, "PA": 13.0,
    "RI": 1.1, "SC": 5.1, "SD": 0.89, "TN": 6.9, "TX": 29.1, "UT": 3.27, "VT": 0.64, "VA": 8.6,
    "WA": 7.7, "WV": 1.79, "WI": 5.9, "WY": 0.58,
}  # fmt: skip
INSTITUTIONAL_SHARE = {  # share of a specialty's claims billed on UB-04 by a facility
    "emergency_medicine": 0.55,
    "hospitalist": 0.6,
    "radiology": 0.35,
    "clinical_laboratory": 0.3,
    "physical_therapy": 0.25,
}
INPATIENT_EM_CATEGORY = "em_inpatient"
PLACE_OF_SERVICE_BY_CATEGORY = {
    "em_office": {"11": 1.0},
    "em_emergency": {"23": 1.0},
    "em_inpatient": {"21": 1.0},
    "psychotherapy": {"11": 0.85, "02": 0.10, "10": 0.05},
    "physical_therapy": {"11": 0.8, "22": 0.15, "12": 0.05},
    "chiropractic": {"11": 1.0},
    "laboratory": {"81": 0.6, "11": 0.3, "22": 0.1},
    "imaging": {"22": 0.5, "11": 0.5},
    "cardiology_test": {"11": 0.7, "22": 0.3},
    "procedure": {"11": 0.55, "24": 0.30, "22": 0.15},
    "injection": {"11": 1.0},
    "drug": {"11": 0.8, "22": 0.2},
    "dme": {"12": 1.0},
    "ambulance": {"41": 1.0},
    "telehealth": {"02": 0.7, "10": 0.3},
}
DEFAULT_PLACE_OF_SERVICE = {"11": 1.0}
TELEHEALTH_POS = "02"
TELEHEALTH_ELIGIBLE_CATEGORIES = ("em_office", "psychotherapy")
REVENUE_BY_CATEGORY = {
    "em_office": "0510",
    "em_emergency": "0450",
    "em_inpatient": "0110",
    "psychotherapy": "0914",
    "physical_therapy": "0420",
    "chiropractic": "0940",
    "laboratory": "0300",
    "imaging": "0320",
    "cardiology_test": "0730",
    "procedure": "0360",
    "injection": "0260",
    "drug": "0636",
    "dme": "0290",
    "ambulance": "0540",
    "telehealth": "0780",
}
DEFAULT_REVENUE = "0940"
DIAGNOSES_BY_CATEGORY = {
    "em_office": ("I10", "E119", "E785", "J069", "M545", "Z0000", "R51", "K219"),
    "em_emergency": ("R079", "S0990XA", "R109", "J189", "N390", "S6290XA"),
    "em_inpatient": ("J189", "I5023", "A419", "N179", "J441"),
    "psychotherapy": ("F329", "F411", "F431", "F902", "F331"),
    "physical_therapy": ("M545", "M25561", "M7541", "S83241A", "M6281"),
    "chiropractic": ("M9903", "M545", "M542", "M9901"),
    "laboratory": ("Z0000", "E119", "E785", "R739", "N390", "D649"),
    "imaging": ("M25561", "R079", "R51", "K802", "S83241A", "R109"),
    "cardiology_test": ("I10", "R079", "I4891", "R002"),
    "procedure": ("M1711", "K635", "H2511", "L570", "D485", "B351", "M25561"),
    "injection": ("M545", "J069", "Z23"),
    "drug": ("M545", "J069", "M1711"),
    "dme": ("G4733", "J449", "S82001A", "Z993"),
    "ambulance": ("R079", "I219", "S0990XA", "R55"),
    "telehealth": ("J069", "F411", "I10", "Z7189"),
}
DEFAULT_DIAGNOSES = ("R69",)
SECONDARY_DIAGNOSES = ("I10", "E119", "E785", "Z87891", "J449", "E669", "F17210", "K219")
LATERALITY_CATEGORIES = ("procedure", "imaging")
FAKE_PROCEDURE_CODES = ("99999", "A9999", "0000T", "ZZZZZ")

EM_FIRST_LINE_P = 0.9
UPCODED_LEVEL_SHARES = (0.0, 0.0, 0.0, 0.4, 0.6)
MODIFIER_25_P, MODIFIER_59_P, LATERALITY_P = 0.05, 0.03, 0.25
UNBUNDLING_MODIFIER_P, UNBUNDLING_SPLIT_P = 0.8, 0.6
TELEHEALTH_BASE_P, TELEHEALTH_DRIFT_P = 0.05, 0.2
DRIFT_LOG_CHARGE, DRIFT_EXTRA_UNITS = 0.3, 0.5
INSTITUTIONAL_CHARGE_FACTOR = 1.8
IMPOSSIBLE_DAY_MINUTES = 1500  # > 1440 minutes in a day
IMPOSSIBLE_MIN_LINE_MINUTES = 30
RING_CLAIMS_PER_RING = 800
RING_WINDOW_DAYS = 15
SIU_TARGET_SHARE = 0.05
SIU_CHARGE_SLOPE, SIU_FRAUD_LIFT = 1.1, 2.3
SIU_OUTCOME_P_FRAUD = (0.85, 0.05, 0.10)  # confirmed, no_fraud, inconclusive
SIU_OUTCOME_P_CLEAN = (0.02, 0.90, 0.08)

NONE = -1  # scheme code of a clean claim


class Progress(Protocol):
    """Progress sink: ``expect`` adds planned steps, ``advance`` marks one step done."""

    def expect(self, steps: int) -> None: ...

    def advance(self, label: str) -> None: ...


class NullProgress:
    """A progress sink that does nothing."""

    def expect(self, steps: int) -> None:
        """Ignore planned steps."""

    def advance(self, label: str) -> None:
        """Ignore finished steps."""


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FraudRates:
    """Share of generated claims per injected fraud scheme (one scheme per fraudulent claim)."""

    upcoding: float = 0.010
    unbundling: float = 0.006
    phantom_billing: float = 0.004
    duplicate_billing: float = 0.006
    excessive_units: float = 0.006
    impossible_days: float = 0.004
    provider_ring: float = 0.004

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            _require_number(f"fraud_rates.{name}", value, 0.0, 1.0)
        if self.total > 0.5:
            raise ValueError(f"fraud_rates: the rates must sum to <= 0.5, got {self.total:.4f}")

    def as_dict(self) -> dict[str, float]:
        """Scheme name -> rate, in scheme order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def total(self) -> float:
        """Overall share of fraudulent claims (before any bias multiplier)."""
        return float(sum(self.as_dict().values()))


SCHEMES = tuple(f.name for f in fields(FraudRates))
UPCODING, UNBUNDLING, PHANTOM, DUPLICATE, EXCESSIVE, IMPOSSIBLE, RING = range(len(SCHEMES))
BIASED_SCHEMES = (UPCODING, UNBUNDLING, EXCESSIVE)


@dataclass(frozen=True)
class GeneratorConfig:
    """All knobs of one generation run; validated on construction."""

    n_lines: int
    seed: int = 0
    start_date: date = date(2024, 1, 1)
    end_date: date = date(2025, 12, 31)
    malformed_rate: float = 0.02
    fraud_rates: FraudRates = field(default_factory=FraudRates)
    drift_start: date | None = None
    drift_strength: float = 1.0
    bias_attribute: str | None = None
    bias_group: str | None = None
    bias_factor: float = 3.0

    def __post_init__(self) -> None:
        _validate_config(self)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the config (dates as ISO strings)."""
        return {
            "n_lines": self.n_lines,
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "malformed_rate": self.malformed_rate,
            "fraud_rates": self.fraud_rates.as_dict(),
            "drift_start": self.drift_start.isoformat() if self.drift_start else None,
            "drift_strength": self.drift_strength,
            "bias_attribute": self.bias_attribute,
            "bias_group": self.bias_group,
            "bias_factor": self.bias_factor,
        }


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _require_number(name: str, value: object, low: float, high: float) -> None:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or not low <= float(value) <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def _require_date(name: str, value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")


def _validate_config(config: GeneratorConfig) -> None:
    _require_int("n_lines", config.n_lines, MIN_LINES)
    _require_int("seed", config.seed, 0)
    _require_date("start_date", config.start_date)
    _require_date("end_date", config.end_date)
    if (config.end_date - config.start_date).days + 1 < MIN_PERIOD_DAYS:
        raise ValueError(
            f"end_date must be at least {MIN_PERIOD_DAYS} days after start_date, "
            f"got {config.start_date} .. {config.end_date}"
        )
    _require_number("malformed_rate", config.malformed_rate, 0.0, 0.5)
    if not isinstance(config.fraud_rates, FraudRates):
        raise ValueError(f"fraud_rates must be a FraudRates, got {config.fraud_rates!r}")
    if config.drift_start is not None:
        _require_date("drift_start", config.drift_start)
        if not config.start_date < config.drift_start <= config.end_date:
            raise ValueError(
                f"drift_start must fall after start_date and on or before end_date, "
                f"got {config.drift_start}"
            )
    _require_number("drift_strength", config.drift_strength, 0.0, 10.0)
    _require_number("bias_factor", config.bias_factor, 0.01, 20.0)
    _validate_bias(config)


def _validate_bias(config: GeneratorConfig) -> None:
    attribute, group = config.bias_attribute, config.bias_group
    if attribute is None:
        if group is not None:
            raise ValueError("bias_group is set but bias_attribute is not")
        return
    if attribute not in BIAS_ATTRIBUTES:
        raise ValueError(f"bias_attribute must be one of {BIAS_ATTRIBUTES}, got {attribute!r}")
    if not isinstance(group, str) or not group:
        raise ValueError(f"bias_group is required when bias_attribute={attribute!r}")
    allowed = {"gender": GENDERS, "age_group": AGE_GROUPS}.get(attribute)
    if allowed is not None and group not in allowed:
        raise ValueError(f"bias_group for {attribute} must be one of {allowed}, got {group!r}")


# --- results and manifest ------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationResult:
    """Tables plus what was injected into them (row positions refer to ``medical_claim``)."""

    tables: dict[str, pa.Table]
    malformed_counts: dict[str, int]
    malformed_rows: dict[str, np.ndarray]
    fraud_claim_counts: dict[str, int]
    phantom_billing_lines: int
    n_claims: int
    n_members: int
    n_providers: int


def generate_dataset(
    config: GeneratorConfig,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> dict[str, pa.Table]:
    """Generate all tables (see :data:`SCHEMAS`) for ``config``."""
    return generate(config, reference, progress).tables


def generate(
    config: GeneratorConfig,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> GenerationResult:
    """Generate all tables and report the injected fraud and malformed lines."""
    sink = progress or NullProgress()
    reference = reference if reference is not None else load_reference()
    check_config_against_reference(config, reference)
    ref = _compile_reference(reference)
    rngs = _streams(config.seed)
    period = _build_period(config)
    members = _build_members(config, ref, period, rngs["members"])
    sink.advance("members")
    providers = _build_providers(config, ref, rngs["providers"])
    sink.advance("providers")
    claims = _build_claims(config, ref, period, members, providers, rngs)
    sink.advance("claims")
    lines = _build_lines(config, ref, period, claims, providers, rngs)
    sink.advance("service lines")
    _build_amounts(config, ref, period, members, claims, lines, rngs["amounts"])
    _copy_duplicate_claims(claims, lines, rngs["claims"])
    sink.advance("amounts")
    labels = _build_labels(claims, lines, rngs["labels"])
    sink.advance("labels")
    malformed = _inject_malformed(config, ref, members, providers, claims, lines, rngs["malformed"])
    sink.advance("malformed lines")
    tables = _build_tables(ref, members, providers, claims, malformed, labels)
    sink.advance("arrow tables")
    counts = np.bincount(claims.scheme[claims.scheme >= 0], minlength=len(SCHEMES))
    return GenerationResult(
        tables=tables,
        malformed_counts={kind: int(rows.size) for kind, rows in malformed.rows.items()},
        malformed_rows=malformed.rows,
        fraud_claim_counts={name: int(c) for name, c in zip(SCHEMES, counts, strict=True)},
        phantom_billing_lines=int(claims.nlines[claims.scheme == PHANTOM].sum()),
        n_claims=claims.n,
        n_members=members.n,
        n_providers=providers.n,
    )


def build_manifest(
    config: GeneratorConfig, result: GenerationResult, elapsed_seconds: float
) -> dict[str, object]:
    """The JSON manifest describing one generated dataset."""
    return {
        "generator_version": GENERATOR_VERSION,
        "config": config.to_dict(),
        "row_counts": {name: table.num_rows for name, table in result.tables.items()},
        "malformed_counts": dict(result.malformed_counts),
        "malformed_total": int(sum(result.malformed_counts.values())),
        "fraud_claims": dict(result.fraud_claim_counts),
        "fraud_claims_total": int(sum(result.fraud_claim_counts.values())),
        "phantom_billing_lines": result.phantom_billing_lines,
        "n_claims": result.n_claims,
        "n_members": result.n_members,
        "n_providers": result.n_providers,
        "elapsed_seconds": round(float(elapsed_seconds), 3),
    }


def count_row_groups(
    tables: Mapping[str, pa.Table], row_group_size: int = DEFAULT_ROW_GROUP_SIZE
) -> int:
    """How many Parquet row groups :func:`write_dataset` will write."""
    return sum(max(1, math.ceil(t.num_rows / row_group_size)) for t in tables.values())


def write_dataset(
    tables: Mapping[str, pa.Table],
    out_dir: str | Path,
    manifest: Mapping[str, object],
    progress: Progress | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> Path:
    """Write ``<out_dir>/<table>.parquet`` per table and ``_manifest.json``; return out_dir.

    Only into a new or empty folder, or one the generator wrote before (see
    :mod:`claims_fraud.synthetic.demo_folder`): a folder with anyone else's files raises
    :class:`~claims_fraud.synthetic.demo_folder.FolderNotOwnedError` before anything is written.
    The manifest gets ``files`` and ``write_seconds`` added, and its ``elapsed_seconds`` (if
    present) is increased by the write time.
    """
    sink = progress or NullProgress()
    folder = Path(out_dir)
    demo_folder.require_writable(folder)
    written = [f"{name}.parquet" for name in tables] + [MANIFEST_FILE]
    demo_folder.claim(folder, written)
    started = time.perf_counter()
    files = {}
    for name, table in tables.items():
        files[name] = _write_parquet(table, folder / f"{name}.parquet", row_group_size, sink)
    write_seconds = time.perf_counter() - started
    document = dict(manifest)
    document["files"] = files
    document["write_seconds"] = round(write_seconds, 3)
    if isinstance(document.get("elapsed_seconds"), int | float):
        document["elapsed_seconds"] = round(float(document["elapsed_seconds"]) + write_seconds, 3)
    (folder / MANIFEST_FILE).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    demo_folder.record(folder, written)
    return folder


def run_generation(
    config: GeneratorConfig,
    out_dir: str | Path,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> Path:
    """Generate, then write tables and manifest to ``out_dir``; return the folder.

    Refuses (:class:`~claims_fraud.synthetic.demo_folder.FolderNotOwnedError`) before generating
    when ``out_dir`` holds files the generator did not write.
    """
    demo_folder.require_writable(Path(out_dir))
    sink = progress or NullProgress()
    started = time.perf_counter()
    sink.expect(len(GENERATION_STAGES))
    result = generate(config, reference, sink)
    sink.expect(count_row_groups(result.tables))
    manifest = build_manifest(config, result, time.perf_counter() - started)
    return write_dataset(result.tables, out_dir, manifest, sink)


def _write_parquet(table: pa.Table, path: Path, row_group_size: int, sink: Progress) -> str:
    with pq.ParquetWriter(path, table.schema, compression="snappy") as writer:
        for offset in range(0, max(table.num_rows, 1), row_group_size):
            writer.write_table(table.slice(offset, row_group_size), row_group_size=row_group_size)
            sink.advance(f"write {path.stem}")
    return path.name


# --- compiled reference --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
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


def _compile_reference(reference: ReferenceData) -> _Ref:
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
    return _Ref(
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
        code_tables=_cumulative_rows(tables),
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


def _cumulative_rows(prob: np.ndarray) -> np.ndarray:
    """Row-wise CDFs; each non-empty row reaches exactly 1.0 at its last positive entry."""
    total = prob.sum(axis=1, keepdims=True)
    cum = np.cumsum(prob, axis=1) / np.where(total > 0, total, 1.0)
    last = prob.shape[1] - 1 - np.argmax(prob[:, ::-1] > 0, axis=1)
    tail = np.arange(prob.shape[1])[None, :] >= last[:, None]
    cum[tail & (total > 0)] = 1.0
    return cum


def check_config_against_reference(config: GeneratorConfig, reference: ReferenceData) -> None:
    """Raise ValueError for options that only the seeds can check (the census region)."""
    regions = tuple(dict.fromkeys(reference.state_regions["region"].tolist()))
    if config.bias_attribute == "region" and config.bias_group not in regions:
        raise ValueError(
            f"bias_group for region must be one of {regions}, got {config.bias_group!r}"
        )


# --- sampling helpers ----------------------------------------------------------------------------


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("members", "providers", "actors", "claims", "lines", "units", "amounts", "labels")
    children = np.random.SeedSequence(seed).spawn(len(names) + 1)
    streams = {n: np.random.default_rng(s) for n, s in zip(names, children, strict=False)}
    streams["malformed"] = np.random.default_rng(children[-1])
    return streams


def _sample_table_rows(cum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one column per item from row ``rows[i]`` of the row-wise CDF table ``cum``."""
    n_rows, n_cols = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, rows + u, side="right") - rows * n_cols
    return np.clip(pos, 0, n_cols - 1)


def _cdf_table(mappings: list[Mapping[str, float]], values: tuple[str, ...]) -> np.ndarray:
    prob = np.array([[m.get(v, 0.0) for v in values] for m in mappings])
    return _cumulative_rows(prob)


def _weighted_index(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(weights) - 1)


def _grouped_choice(
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


def _sample_in_windows(
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


def _epoch_day(value: date) -> int:
    return (value - EPOCH).days


def _month_start(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def _month_end(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]") + 1
    return months.astype("datetime64[D]").astype(np.int64) - 1


def _calendar_age(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Completed years between epoch days ``birth`` and ``day``."""
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


def _age_group(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    lower = np.array([low for low, _ in AGE_GROUP_BOUNDS])
    return np.searchsorted(lower, _calendar_age(birth, day), side="right") - 1


# --- period, members, providers ------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    start: int  # epoch days, inclusive
    end: int
    cum_weight: np.ndarray  # seasonal day weights, cumulative from start (length n_days + 1)
    drift_day: int  # NO_DAY when no drift

    @property
    def n_days(self) -> int:
        return self.end - self.start + 1

    def uniform_cum(self) -> np.ndarray:
        return np.arange(self.n_days + 1, dtype=np.float64)


def _build_period(config: GeneratorConfig) -> _Period:
    start, end = _epoch_day(config.start_date), _epoch_day(config.end_date)
    days = np.arange(start, end + 1)
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    season = 1.0 + 0.18 * np.cos(2 * np.pi * month / 12)  # winter peak
    week = np.where(weekday == 5, 0.45, np.where(weekday == 6, 0.3, 1.0))
    cum = np.concatenate(([0.0], np.cumsum(season * week)))
    drift = _epoch_day(config.drift_start) if config.drift_start else NO_DAY
    return _Period(start=start, end=end, cum_weight=cum, drift_day=drift)


@dataclass
class _Members:
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


def _build_members(
    config: GeneratorConfig, ref: _Ref, period: _Period, rng: np.random.Generator
) -> _Members:
    n = max(config.n_lines // LINES_PER_MEMBER, MIN_MEMBERS)
    age_group = rng.choice(len(AGE_GROUPS), n, p=AGE_GROUP_P)
    bounds = np.array(AGE_GROUP_BOUNDS)[age_group]
    age_days = (bounds[:, 0] + rng.random(n) * (bounds[:, 1] - bounds[:, 0])) * 365.25
    birth = period.start - np.floor(age_days).astype(np.int64)
    plan_cum = _cumulative_rows(np.array(PLAN_P_BY_AGE))
    plan = _sample_table_rows(plan_cum, age_group, rng.random(n)).astype(np.int8)
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
    return _Members(
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


def _draw_spans(n: int, period: _Period, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Recorded enrollment spans (n, 2): full, two spans with a gap, joining or leaving."""
    s, e, d = period.start, period.end, period.n_days
    kind = rng.choice(len(ENROLLMENT_KIND_P), n, p=ENROLLMENT_KIND_P)
    early_start = _month_start(s - rng.integers(0, 1500, n))
    join_start = _month_start(s + np.floor(rng.uniform(0.05, 0.8, n) * d).astype(np.int64))
    leave_end = _month_end(s + np.floor(rng.uniform(0.2, 0.95, n) * d).astype(np.int64))
    gap_from = _month_end(s + np.floor(rng.uniform(0.1, 0.6, n) * d).astype(np.int64))
    gap_len = 31 + np.floor(rng.random(n) * max(d * 0.2, 1.0)).astype(np.int64)
    second_start = _month_start(gap_from + 1 + gap_len)
    full_end = np.full(n, _month_end(np.array([e]))[0])
    start1 = np.where(kind == 2, join_start, early_start)
    end1 = np.select([kind == 1, kind == 3], [gap_from, leave_end], full_end)
    has_second = (kind == 1) & (second_start <= e - 14)
    end1 = np.where((kind == 1) & ~has_second, gap_from, end1)
    start2 = np.where(has_second, second_start, NO_DAY)
    end2 = np.where(has_second, full_end, -NO_DAY)
    return np.stack([start1, start2], axis=1), np.stack([end1, end2], axis=1)


def _draw_deaths(
    age_group: np.ndarray, span_start: np.ndarray, period: _Period, rng: np.random.Generator
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
    window_lo: np.ndarray, window_hi: np.ndarray, period: _Period
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
class _Providers:
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


def _build_providers(config: GeneratorConfig, ref: _Ref, rng: np.random.Generator) -> _Providers:
    n_target = max(config.n_lines // LINES_PER_PROVIDER, MIN_PROVIDERS)
    counts = _largest_remainder(ref.spec_weight, round(0.8 * n_target))
    spec = np.repeat(np.arange(ref.n_spec), counts).astype(np.int16)
    n_rend = spec.size
    state = rng.choice(len(ref.states), n_rend, p=ref.state_weight).astype(np.int16)
    weight = rng.lognormal(0.0, 1.2, n_rend)
    group_of, group_spec, group_state = _group_practices(spec, state, ref, rng)
    billing = np.where(group_of >= 0, n_rend + group_of, np.arange(n_rend))
    n_all = n_rend + group_spec.size
    return _Providers(
        n=n_all,
        n_rendering=n_rend,
        spec=np.concatenate([spec, group_spec]),
        state=np.concatenate([state, group_state]),
        entity=np.concatenate([ref.spec_entity[spec], np.full(group_spec.size, 2, np.int8)]),
        npi=_npis(rng.choice(200_000_000, size=n_all, replace=False) + 100_000_000),
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
    spec: np.ndarray, state: np.ndarray, ref: _Ref, rng: np.random.Generator
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


def _npis(base: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit (with the 80840 prefix) to 9-digit NPI bases."""
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    doubled = digits[:, 0::2] * 2
    total = 24 + np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + digits[:, 1::2].sum(1)
    return base * 10 + (10 - total % 10) % 10


# --- claims --------------------------------------------------------------------------------------


@dataclass
class _Claims:
    n: int
    member: np.ndarray
    provider: np.ndarray
    scheme: np.ndarray
    source: np.ndarray  # duplicate_billing: the copied claim, else -1
    is_inst: np.ndarray
    start: np.ndarray
    end: np.ndarray
    nlines: np.ndarray
    first_row: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pos: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    bill_type: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    diagnosis: np.ndarray = field(default_factory=lambda: np.empty((0, 3), np.int16))
    paid: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ingest: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass(frozen=True)
class _FraudActors:
    pools: dict[int, np.ndarray]  # scheme -> provider indices
    ring_providers: np.ndarray
    ring_provider_offsets: np.ndarray
    ring_members: np.ndarray
    ring_member_offsets: np.ndarray
    ring_anchor: np.ndarray
    stable_members: np.ndarray
    phantom_members: np.ndarray


def _build_claims(
    config: GeneratorConfig,
    ref: _Ref,
    period: _Period,
    members: _Members,
    providers: _Providers,
    rngs: Mapping[str, np.random.Generator],
) -> _Claims:
    rng = rngs["claims"]
    n_est = config.n_lines // 2 + 64
    member = _weighted_index(members.claim_weight, rng.random(n_est))
    day, which = _sample_in_windows(
        members.window_lo[member],
        members.window_hi[member],
        period.cum_weight,
        period.start,
        rng.random(n_est),
    )
    hi = members.window_hi[member, which]
    in_group = _bias_mask(config, ref, members, member, day)
    scheme = _assign_schemes(config, in_group, rng)
    actors = _build_fraud_actors(ref, period, members, providers, scheme, rngs["actors"])
    scheme = _drop_unavailable_schemes(scheme, actors)
    member, day, hi = _override_members(period, members, actors, scheme, member, day, hi, rng)
    provider = _assign_providers(ref, members, providers, actors, scheme, member, rng)
    spec = providers.spec[provider]
    clean = (scheme == NONE) | (scheme == DUPLICATE)
    is_inst = clean & (rng.random(n_est) < ref.spec_inst_share[spec])
    inpatient = is_inst & ref.spec_inpatient[spec]
    length = np.where(
        inpatient,
        2 + np.minimum(rng.poisson(2.5, n_est), 12),
        np.where(~is_inst & (rng.random(n_est) < 0.1), rng.integers(2, 5, n_est), 1),
    )
    length = np.where((scheme == PHANTOM) | (scheme == IMPOSSIBLE), 1, length)
    nlines = _draw_line_counts(scheme, is_inst, rng)
    source = _pick_duplicate_sources(scheme, nlines, rng)
    claims = _Claims(
        n=n_est,
        member=member,
        provider=provider,
        scheme=scheme,
        source=source,
        is_inst=is_inst,
        start=day,
        end=np.minimum(day + length - 1, hi),
        nlines=nlines,
    )
    return _truncate_claims(claims, config.n_lines)


def _bias_mask(
    config: GeneratorConfig, ref: _Ref, members: _Members, member: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Whether each claim's member belongs to the configured bias group on the claim date."""
    attribute, group = config.bias_attribute, config.bias_group
    if attribute == "gender":
        return members.gender[member] == GENDERS.index(str(group))
    if attribute == "region":
        return ref.state_region[members.state[member]] == ref.regions.index(str(group))
    if attribute == "age_group":
        return _age_group(members.birth[member], day) == AGE_GROUPS.index(str(group))
    return np.zeros(member.size, bool)


def _assign_schemes(
    config: GeneratorConfig, in_group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One draw per claim against the cumulative (bias-scaled) scheme probabilities."""
    rates = list(config.fraud_rates.as_dict().values())
    multiplier = np.where(in_group, config.bias_factor, 1.0)
    probs = [
        rate * multiplier if k in BIASED_SCHEMES else np.full(in_group.size, rate)
        for k, rate in enumerate(rates)
    ]
    scale = np.maximum(np.sum(probs, axis=0), 1.0)
    u = rng.random(in_group.size)
    scheme = np.full(in_group.size, NONE, np.int8)
    acc = np.zeros(in_group.size)
    for k, prob in enumerate(probs):  # loop over the seven schemes
        upper = acc + prob / scale
        scheme[(u >= acc) & (u < upper)] = k
        acc = upper
    return scheme


def _build_fraud_actors(
    ref: _Ref,
    period: _Period,
    members: _Members,
    providers: _Providers,
    scheme: np.ndarray,
    rng: np.random.Generator,
) -> _FraudActors:
    rendering_spec = providers.spec[: providers.n_rendering]
    region = ref.state_region[providers.state[: providers.n_rendering]]
    taken = np.zeros(providers.n_rendering, bool)
    n_impossible = int((scheme == IMPOSSIBLE).sum())
    individual = ref.spec_entity[rendering_spec] == 1
    pools = {
        UPCODING: _choose_pool(rng, ref.has_em[rendering_spec], 0.03, taken, region),
        UNBUNDLING: _choose_pool(rng, ref.has_svc[rendering_spec], 0.02, taken, region),
        EXCESSIVE: _choose_pool(rng, ref.has_unit[rendering_spec], 0.02, taken, region),
        IMPOSSIBLE: _choose_pool(
            rng,
            ref.has_time[rendering_spec] & individual,
            0.0,
            taken,
            region,
            size=int(np.clip(n_impossible // 40, 1, 50)),
        ),
    }
    stable = np.flatnonzero(members.stable)
    ring = _build_rings(
        rng,
        rendering_spec,
        individual & ~taken,
        stable,
        members.claim_weight[stable],
        int((scheme == RING).sum()),
        period,
    )
    outside_days = np.clip(members.outside_hi - members.outside_lo + 1, 0, None).sum(axis=1)
    return _FraudActors(
        pools=pools,
        ring_providers=ring[0],
        ring_provider_offsets=ring[1],
        ring_members=ring[2],
        ring_member_offsets=ring[3],
        ring_anchor=ring[4],
        stable_members=stable,
        phantom_members=np.flatnonzero(outside_days > 0),
    )


def _choose_pool(
    rng: np.random.Generator,
    eligible: np.ndarray,
    share: float,
    taken: np.ndarray,
    region: np.ndarray,
    size: int | None = None,
) -> np.ndarray:
    """A scheme's fraudulent providers, spread over the census regions in proportion to the
    eligible providers of each (largest remainder). A scheme's few providers flag their own
    local patients through provider-level features; drawn without strata they can land in one
    region and make the flags of an accurate model depend on the member's region."""
    candidates = np.flatnonzero(eligible & ~taken)
    wanted = min(
        size if size is not None else max(1, round(share * candidates.size)), candidates.size
    )
    regions, counts = np.unique(region[candidates], return_counts=True)
    quota = wanted * counts / counts.sum()
    per_region = np.floor(quota).astype(np.int64)
    leftover = wanted - int(per_region.sum())
    per_region[np.argsort(per_region - quota, kind="stable")[:leftover]] += 1
    picks = [
        rng.choice(candidates[region[candidates] == value], size=int(k), replace=False)
        for value, k in zip(regions, per_region, strict=True)
        if k > 0
    ]
    chosen = np.sort(np.concatenate(picks)) if picks else np.empty(0, np.int64)
    taken[chosen] = True
    return chosen


def _build_rings(
    rng: np.random.Generator,
    rendering_spec: np.ndarray,
    eligible: np.ndarray,
    stable: np.ndarray,
    stable_weight: np.ndarray,
    n_ring_claims: int,
    period: _Period,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rings of 5-8 providers of different specialties sharing 3-200 members each.

    Ring members are drawn in proportion to their claim propensity, like honest claims, so
    that without the bias knob fraud does not depend on a member's age, gender or region.
    """
    empty = np.empty(0, np.int64)
    specs = np.unique(rendering_spec[eligible])
    if n_ring_claims == 0 or stable.size == 0 or specs.size < 2:
        return empty, np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty
    n_rings = max(1, math.ceil(n_ring_claims / RING_CLAIMS_PER_RING))
    available = eligible.copy()
    ring_providers: list[np.ndarray] = []
    for _ in range(n_rings):  # loop over rings (a handful), not over rows
        chosen_specs = rng.choice(
            specs, size=min(int(rng.integers(5, 9)), specs.size), replace=False
        )
        picks = [_pick_one(rng, available & (rendering_spec == s)) for s in chosen_specs]
        ring = np.array([p for p in picks if p >= 0], np.int64)
        available[ring] = False
        if ring.size >= 2:
            ring_providers.append(ring)
    if not ring_providers:
        return empty, np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty
    sizes = np.array([r.size for r in ring_providers])
    per_ring = n_ring_claims / len(ring_providers)
    n_members = np.clip(np.rint(per_ring / sizes), 3, 200).astype(np.int64)
    wanted = min(int(n_members.sum()), stable.size)
    pool = rng.choice(stable, size=wanted, replace=False, p=stable_weight / stable_weight.sum())
    member_slots = np.arange(n_members.sum()) % pool.size
    anchor_hi = max(period.start, period.end - RING_WINDOW_DAYS + 1)
    return (
        np.concatenate(ring_providers),
        np.concatenate(([0], np.cumsum(sizes))),
        pool[member_slots],
        np.concatenate(([0], np.cumsum(n_members))),
        rng.integers(period.start, anchor_hi + 1, member_slots.size),
    )


def _pick_one(rng: np.random.Generator, mask: np.ndarray) -> int:
    candidates = np.flatnonzero(mask)
    return int(rng.choice(candidates)) if candidates.size else -1


def _drop_unavailable_schemes(scheme: np.ndarray, actors: _FraudActors) -> np.ndarray:
    unavailable = [k for k, pool in actors.pools.items() if pool.size == 0]
    if actors.ring_providers.size == 0:
        unavailable.append(RING)
    if actors.phantom_members.size == 0:
        unavailable.append(PHANTOM)
    if actors.stable_members.size == 0:
        unavailable.append(IMPOSSIBLE)
    return np.where(np.isin(scheme, unavailable), NONE, scheme).astype(np.int8)


def _override_members(
    period: _Period,
    members: _Members,
    actors: _FraudActors,
    scheme: np.ndarray,
    member: np.ndarray,
    day: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phantom claims move outside enrollment; ring and impossible-day claims use stable members."""
    member, day, hi = member.copy(), day.copy(), hi.copy()
    phantom = np.flatnonzero(scheme == PHANTOM)
    who = actors.phantom_members[rng.integers(0, max(actors.phantom_members.size, 1), phantom.size)]
    when, _ = _sample_in_windows(
        members.outside_lo[who],
        members.outside_hi[who],
        period.uniform_cum(),
        period.start,
        rng.random(phantom.size),
    )
    member[phantom], day[phantom], hi[phantom] = who, when, when
    ring = np.flatnonzero(scheme == RING)
    if ring.size:
        slot = _ring_slots(actors, np.arange(ring.size))[1]
        member[ring] = actors.ring_members[slot]
        day[ring] = actors.ring_anchor[slot] + rng.integers(0, RING_WINDOW_DAYS, ring.size)
        day[ring] = np.minimum(day[ring], period.end)
        hi[ring] = period.end
    impossible = np.flatnonzero(scheme == IMPOSSIBLE)
    stable = actors.stable_members
    if impossible.size:
        # Weighted by claim propensity, like honest claims (no protected-attribute skew).
        weight = members.claim_weight[stable]
        member[impossible] = rng.choice(stable, size=impossible.size, p=weight / weight.sum())
    hi[impossible] = period.end  # the day itself is set once the lines (minutes) are known
    return member, day, hi


def _ring_slots(actors: _FraudActors, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Provider and member slot of the ``rank``-th ring claim (round robin over rings)."""
    n_rings = actors.ring_provider_offsets.size - 1
    ring, q = rank % n_rings, rank // n_rings
    n_prov = np.diff(actors.ring_provider_offsets)[ring]
    n_mem = np.diff(actors.ring_member_offsets)[ring]
    provider_slot = actors.ring_provider_offsets[ring] + q % n_prov
    member_slot = actors.ring_member_offsets[ring] + (q // n_prov) % n_mem
    return provider_slot, member_slot


def _assign_providers(
    ref: _Ref,
    members: _Members,
    providers: _Providers,
    actors: _FraudActors,
    scheme: np.ndarray,
    member: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """In-state (85%) volume-weighted provider choice; fraud schemes draw from their pools."""
    n = scheme.size
    in_state = rng.random(n) < 0.85
    draw_state = np.where(in_state, members.state[member], len(ref.states))
    u = rng.random(n)
    state_key = providers.state.astype(np.int64)
    provider = _grouped_choice(
        providers.rendering, providers.weight, state_key, len(ref.states) + 1, draw_state, u
    )
    for k, pool in actors.pools.items():  # loop over schemes
        rows = np.flatnonzero(scheme == k)
        if k == IMPOSSIBLE:
            provider[rows] = pool[np.arange(rows.size) % max(pool.size, 1)] if rows.size else 0
        elif rows.size:
            provider[rows] = _grouped_choice(
                pool, providers.weight, state_key, len(ref.states) + 1, draw_state[rows], u[rows]
            )
    ring = np.flatnonzero(scheme == RING)
    if ring.size:
        provider[ring] = actors.ring_providers[_ring_slots(actors, np.arange(ring.size))[0]]
    return provider


def _draw_line_counts(
    scheme: np.ndarray, is_inst: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = scheme.size
    base = 1 + np.minimum(rng.poisson(np.where(is_inst, 2.2, 1.35), n), 7)
    extra = rng.integers(2, 5, n)
    counts = np.select(
        [scheme == UNBUNDLING, scheme == IMPOSSIBLE, scheme == EXCESSIVE],
        [np.minimum(base + extra, 10), extra, 1 + np.minimum(rng.poisson(0.8, n), 3)],
        base,
    )
    return counts.astype(np.int64)


def _pick_duplicate_sources(
    scheme: np.ndarray, nlines: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each duplicate_billing claim copies an earlier clean claim (and its line count)."""
    source = np.full(scheme.size, -1, np.int64)
    dups = np.flatnonzero(scheme == DUPLICATE)
    clean = np.flatnonzero(scheme == NONE)
    before = np.searchsorted(clean, dups)
    pick = np.floor(rng.random(dups.size) * before).astype(np.int64)
    ok = before > 0
    scheme[dups[~ok]] = NONE
    source[dups[ok]] = clean[pick[ok]]
    nlines[dups[ok]] = nlines[source[dups[ok]]]
    return source


def _truncate_claims(claims: _Claims, n_lines: int) -> _Claims:
    """Keep the claims needed for exactly ``n_lines`` lines (the last one is shortened)."""
    cum = np.cumsum(claims.nlines)
    last = int(np.searchsorted(cum, n_lines, side="left"))
    if last >= claims.n:
        raise RuntimeError("internal error: not enough claims drawn for the requested lines")
    keep = slice(0, last + 1)
    nlines = claims.nlines[keep].copy()
    nlines[last] -= int(cum[last]) - n_lines
    scheme = claims.scheme[keep].copy()
    source = claims.source[keep].copy()
    if scheme[last] == DUPLICATE and nlines[last] != claims.nlines[last]:
        scheme[last], source[last] = NONE, -1
    return _Claims(
        n=last + 1,
        member=claims.member[keep],
        provider=claims.provider[keep],
        scheme=scheme,
        source=source,
        is_inst=claims.is_inst[keep],
        start=claims.start[keep],
        end=claims.end[keep],
        nlines=nlines,
        first_row=np.cumsum(nlines) - nlines,
    )


# --- service lines -------------------------------------------------------------------------------


@dataclass
class _Lines:
    n: int
    claim: np.ndarray  # line -> claim index
    number: np.ndarray
    code: np.ndarray
    units: np.ndarray
    em: np.ndarray
    modifiers: np.ndarray  # (n, 2) int8, -1 = none
    start: np.ndarray
    end: np.ndarray
    revenue: np.ndarray  # index into _revenue_codes(), -1 for professional lines
    charge: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # cents
    allowed: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    paid: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def _build_lines(
    config: GeneratorConfig,
    ref: _Ref,
    period: _Period,
    claims: _Claims,
    providers: _Providers,
    rngs: Mapping[str, np.random.Generator],
) -> _Lines:
    rng = rngs["lines"]
    n = config.n_lines
    claim = np.repeat(np.arange(claims.n), claims.nlines)
    number = np.arange(n) - claims.first_row[claim] + 1
    spec = providers.spec[claims.provider][claim]
    scheme = claims.scheme[claim]
    em = _em_lines(ref, spec, scheme, number, rng.random(n))
    table = np.where(em, np.where(scheme == UPCODING, TABLE_UPCODED, TABLE_EM), TABLE_SERVICE)
    table = np.select([scheme == EXCESSIVE, scheme == IMPOSSIBLE], [TABLE_UNITS, TABLE_TIME], table)
    code = _sample_table_rows(ref.code_tables, table * ref.n_spec + spec, rng.random(n))
    code = _split_unbundled(claims, claim, number, em, code, rng.random(n))
    em = ref.em_level[code] > 0
    drift = claims.start[claim] >= period.drift_day
    units = _draw_units(config, ref, code, scheme, drift, rngs["units"])
    _schedule_impossible_days(ref, period, claims, claim, code, units, rng)
    start, end = _line_dates(claims, claim, rng)
    _claim_settings(config, ref, period, claims, code, rng)
    revenue_codes = _revenue_codes()
    revenue_of_category = np.array(
        [revenue_codes.index(REVENUE_BY_CATEGORY.get(c, DEFAULT_REVENUE)) for c in ref.categories]
    )
    return _Lines(
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
    ref: _Ref, spec: np.ndarray, scheme: np.ndarray, number: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Line 1 is usually the E/M visit; E/M-only specialties bill E/M on every line."""
    em_only = ref.has_em[spec] & ~ref.has_svc[spec]
    first = (number == 1) & ref.has_em[spec] & ((u < EM_FIRST_LINE_P) | (scheme == UPCODING))
    return (em_only | first) & (scheme != EXCESSIVE) & (scheme != IMPOSSIBLE)


def _split_unbundled(
    claims: _Claims,
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
    ref: _Ref,
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
    ref: _Ref,
    period: _Period,
    claims: _Claims,
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
    days, _ = _sample_in_windows(
        np.full((day_offset[-1], 1), period.start),
        np.full((day_offset[-1], 1), period.end),
        period.cum_weight,
        period.start,
        rng.random(day_offset[-1]),
    )
    claims.start[rows] = days[group]
    claims.end[rows] = days[group]


def _line_dates(
    claims: _Claims, claim: np.ndarray, rng: np.random.Generator
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
    ref: _Ref,
    period: _Period,
    claims: _Claims,
    code: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Place of service, bill type and diagnoses from the claim's first line."""
    primary = ref.category[code[claims.first_row]]
    mappings = [
        PLACE_OF_SERVICE_BY_CATEGORY.get(c, DEFAULT_PLACE_OF_SERVICE) for c in ref.categories
    ]
    pos_codes = _place_of_service_codes()
    pos = _sample_table_rows(_cdf_table(mappings, pos_codes), primary, rng.random(claims.n))
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


def _category_indices(ref: _Ref, names: tuple[str, ...]) -> list[int]:
    return [ref.categories.index(name) for name in names if name in ref.categories]


def _place_of_service_codes() -> tuple[str, ...]:
    codes = {c: None for m in PLACE_OF_SERVICE_BY_CATEGORY.values() for c in m}
    return tuple(dict.fromkeys([*codes, *DEFAULT_PLACE_OF_SERVICE, TELEHEALTH_POS]))


def _diagnosis_codes() -> tuple[str, ...]:
    everything = [*DEFAULT_DIAGNOSES, *SECONDARY_DIAGNOSES]
    for codes in DIAGNOSES_BY_CATEGORY.values():
        everything.extend(codes)
    return tuple(dict.fromkeys(everything))


def _diagnoses(ref: _Ref, primary: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Claim-level diagnoses (n, 3) as indices into :func:`_diagnosis_codes`; -1 = none."""
    vocabulary = _diagnosis_codes()
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
    ref: _Ref,
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


# --- amounts and duplicates ----------------------------------------------------------------------


def _build_amounts(
    config: GeneratorConfig,
    ref: _Ref,
    period: _Period,
    members: _Members,
    claims: _Claims,
    lines: _Lines,
    rng: np.random.Generator,
) -> None:
    """Lognormal charges x units, allowed and paid as random shares, in integer cents.

    Valid lines always have 0 < paid <= allowed <= charge.
    """
    claim, code = lines.claim, lines.code
    drift = claims.start[claim] >= period.drift_day
    in_group = _bias_mask(config, ref, members, claims.member, claims.start)[claim]
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


def _copy_duplicate_claims(claims: _Claims, lines: _Lines, rng: np.random.Generator) -> None:
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


# --- labels --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Labels:
    investigated: np.ndarray  # claim indices
    closed: np.ndarray
    outcome: np.ndarray


def _build_labels(claims: _Claims, lines: _Lines, rng: np.random.Generator) -> _Labels:
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
    return _Labels(investigated=investigated, closed=closed, outcome=outcome.astype(np.int8))


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


# --- malformed lines -----------------------------------------------------------------------------

AMOUNT_COLUMNS = ("paid_amount", "allowed_amount", "charge_amount")


@dataclass
class _Columns:
    """Integer-coded line columns. Id and code columns use a negative value for null; ids at
    or above the known range are unknown ids; amounts are cents with explicit null masks;
    units are float with NaN for null; dates are epoch days; ingest is epoch microseconds."""

    values: dict[str, np.ndarray]
    null: dict[str, np.ndarray]


@dataclass(frozen=True)
class _Malformed:
    columns: _Columns
    rows: dict[str, np.ndarray]
    unknown_npis: np.ndarray
    fake_codes: tuple[str, ...]


@dataclass(frozen=True)
class _InjectionContext:
    members: _Members
    providers: _Providers
    n_codes: int
    n_fake_codes: int


def _line_columns(
    members: _Members, providers: _Providers, claims: _Claims, lines: _Lines
) -> _Columns:
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


def _inject_malformed(
    config: GeneratorConfig,
    ref: _Ref,
    members: _Members,
    providers: _Providers,
    claims: _Claims,
    lines: _Lines,
    rng: np.random.Generator,
) -> _Malformed:
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
    return _Malformed(
        columns=columns,
        rows={kind: np.sort(rows[kind]) for kind in MALFORMED_KINDS},
        unknown_npis=unknown_npis,
        fake_codes=fake_codes,
    )


def _choose_malformed_rows(
    members: _Members,
    claims: _Claims,
    lines: _Lines,
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
    candidates = _npis(rng.choice(200_000_000, size=size + 64, replace=False) + 100_000_000)
    return candidates[~np.isin(candidates, known)][:size]


# --- arrow tables --------------------------------------------------------------------------------


def _fixed_width_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded decimal ``numbers``, built from bytes (no per-row formatting)."""
    numbers = np.asarray(numbers, np.int64)
    n = numbers.size
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    head = np.frombuffer(prefix.encode("ascii"), np.uint8)
    chars = np.ascontiguousarray(
        np.concatenate([np.broadcast_to(head, (n, head.size)), digits], axis=1)
    )
    if n * chars.shape[1] >= 2**31:
        raise ValueError("too many ids for a 32-bit string offset buffer")
    offsets = np.arange(n + 1, dtype=np.int32) * chars.shape[1]
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])


def _lookup(vocabulary: pa.Array | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Strings ``vocabulary[index]``; a negative index gives null."""
    dictionary = (
        vocabulary if isinstance(vocabulary, pa.Array) else pa.array(vocabulary, pa.string())
    )
    null = index < 0
    positions = np.where(null, 0, index).astype(np.int32)
    return dictionary.take(pa.array(positions, mask=null if null.any() else None))


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    mask = null if null is not None and null.any() else None
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _cents(cents: np.ndarray, null: np.ndarray) -> pa.Array:
    """decimal128(12, 2) from integer cents (two's complement 128-bit words)."""
    words = np.empty((cents.size, 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity = pa.py_buffer(np.packbits(~null, bitorder="little")) if null.any() else None
    return pa.Array.from_buffers(
        pa.decimal128(12, 2),
        cents.size,
        [validity, pa.py_buffer(words)],
        null_count=int(null.sum()),
    )


def _build_tables(
    ref: _Ref,
    members: _Members,
    providers: _Providers,
    claims: _Claims,
    malformed: _Malformed,
    labels: _Labels,
) -> dict[str, pa.Table]:
    order = np.argsort(claims.ingest, kind="stable")
    claim_number = np.empty(claims.n, np.int64)
    claim_number[order] = np.arange(1, claims.n + 1)
    claim_ids = _fixed_width_strings("CLM", claim_number, 10)
    n_unknown = malformed.rows["unknown_member"].size
    member_numbers = np.concatenate(
        [np.arange(1, members.n + 1), 900_000_001 + np.arange(n_unknown)]
    )
    person_ids = _fixed_width_strings("P", member_numbers, 9)
    member_ids = _fixed_width_strings("M", member_numbers, 9)
    npis = _fixed_width_strings("", np.concatenate([providers.npi, malformed.unknown_npis]), 10)
    return {
        "medical_claim": _medical_claim_table(
            ref, malformed, claim_ids, person_ids, member_ids, npis
        ),
        "eligibility": _eligibility_table(ref, members, person_ids, member_ids),
        "provider": _provider_table(ref, providers, npis),
        "siu_investigation": pa.Table.from_arrays(
            [
                claim_ids.take(pa.array(labels.investigated)),
                _dates(labels.closed),
                _lookup(SIU_OUTCOMES, labels.outcome),
            ],
            schema=SIU_SCHEMA,
        ),
        "fraud_ground_truth": pa.Table.from_arrays(
            [
                claim_ids,
                pa.array(claims.scheme != NONE),
                _lookup(SCHEMES, claims.scheme.astype(np.int64)),
            ],
            schema=GROUND_TRUTH_SCHEMA,
        ),
    }


def _medical_claim_table(
    ref: _Ref,
    malformed: _Malformed,
    claim_ids: pa.Array,
    person_ids: pa.Array,
    member_ids: pa.Array,
    npis: pa.Array,
) -> pa.Table:
    v, null = malformed.columns.values, malformed.columns.null
    n = v["claim_id"].size
    line_number = v["claim_line_number"]
    units = v["service_unit_quantity"]
    diagnoses = _diagnosis_codes()
    arrays = {
        "claim_id": _lookup(claim_ids, v["claim_id"]),
        "claim_line_number": pa.array(
            line_number.astype(np.int32), mask=line_number < 0 if (line_number < 0).any() else None
        ),
        "claim_type": _lookup(CLAIM_TYPES, v["claim_type"]),
        "person_id": _lookup(person_ids, v["person_id"]),
        "member_id": _lookup(member_ids, v["member_id"]),
        "payer": _lookup(PAYERS, v["plan"]),
        "plan": _lookup(PLANS, v["plan"]),
        "claim_start_date": _dates(v["claim_start_date"]),
        "claim_end_date": _dates(v["claim_end_date"]),
        "claim_line_start_date": _dates(v["claim_line_start_date"]),
        "claim_line_end_date": _dates(v["claim_line_end_date"]),
        "place_of_service_code": _lookup(_place_of_service_codes(), v["place_of_service_code"]),
        "bill_type_code": _lookup(BILL_TYPES, v["bill_type_code"]),
        "revenue_center_code": _lookup(_revenue_codes(), v["revenue_center_code"]),
        "service_unit_quantity": pa.array(units, mask=np.isnan(units)),
        "hcpcs_code": _lookup((*ref.codes, *malformed.fake_codes), v["hcpcs_code"]),
        "hcpcs_modifier_1": _lookup(MODIFIERS, v["hcpcs_modifier_1"]),
        "hcpcs_modifier_2": _lookup(MODIFIERS, v["hcpcs_modifier_2"]),
        "rendering_npi": _lookup(npis, v["rendering_npi"]),
        "billing_npi": _lookup(npis, v["billing_npi"]),
        "facility_npi": _lookup(npis, v["facility_npi"]),
        "paid_date": _dates(v["paid_date"]),
        "paid_amount": _cents(v["paid_amount"], null["paid_amount"]),
        "allowed_amount": _cents(v["allowed_amount"], null["allowed_amount"]),
        "charge_amount": _cents(v["charge_amount"], null["charge_amount"]),
        "diagnosis_code_type": pa.repeat(pa.scalar(DIAGNOSIS_CODE_TYPE), n),
        "diagnosis_code_1": _lookup(diagnoses, v["diagnosis_code_1"]),
        "diagnosis_code_2": _lookup(diagnoses, v["diagnosis_code_2"]),
        "diagnosis_code_3": _lookup(diagnoses, v["diagnosis_code_3"]),
        "data_source": pa.repeat(pa.scalar(DATA_SOURCE), n),
        "ingest_datetime": pa.array(v["ingest_datetime"], type=pa.timestamp("us")),
    }
    return pa.Table.from_arrays(
        [arrays[name] for name in MEDICAL_CLAIM_SCHEMA.names], schema=MEDICAL_CLAIM_SCHEMA
    )


def _eligibility_table(
    ref: _Ref, members: _Members, person_ids: pa.Array, member_ids: pa.Array
) -> pa.Table:
    has_span = members.span_start <= members.span_end
    member, span = np.nonzero(has_span)  # row-major: member order, then span order
    death = members.death[member]
    no_death = death >= NO_DAY
    arrays = [
        _lookup(person_ids, member),
        _lookup(member_ids, member),
        _lookup(GENDERS, members.gender[member]),
        _lookup(RACES, members.race[member]),
        _dates(members.birth[member]),
        _dates(np.where(no_death, 0, death), no_death),
        _lookup(ref.states, members.state[member]),
        _fixed_width_strings("", members.zip_code[member], 5),
        _dates(members.span_start[member, span]),
        _dates(members.span_end[member, span]),
        _lookup(PAYERS, members.plan[member]),
        _lookup(PLANS, members.plan[member]),
    ]
    return pa.Table.from_arrays(arrays, schema=ELIGIBILITY_SCHEMA)


def _provider_table(ref: _Ref, providers: _Providers, npis: pa.Array) -> pa.Table:
    arrays = [
        npis.slice(0, providers.n),
        _lookup(ref.specialties, providers.spec),
        _lookup(ref.states, providers.state),
        _lookup(("1", "2"), providers.entity.astype(np.int64) - 1),
    ]
    return pa.Table.from_arrays(arrays, schema=PROVIDER_SCHEMA)


def _revenue_codes() -> tuple[str, ...]:
    return tuple(dict.fromkeys([*REVENUE_BY_CATEGORY.values(), DEFAULT_REVENUE]))
