"""The generator's configuration: the vocabularies it draws from, the fraud scheme codes, and
:class:`GeneratorConfig` (validated on construction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime

import numpy as np

GENERATOR_VERSION = "1.1.0"


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


MIN_LINES = 100
MIN_MEMBERS = 200
MIN_PROVIDERS = 120
MIN_PERIOD_DAYS = 60


NONE = -1  # scheme code of a clean claim


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
