"""Which claims and SIU outcomes a training may use: the training window (vars
training_cutoff and training_warmup_days, the training job's parameters of the same names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from claims_fraud.ml.train import DATE_COLUMN
from claims_fraud.warehouse import params


@dataclass(frozen=True)
class TrainingWindow:
    """Which claims training may use (vars training_cutoff, training_warmup_days): those
    ingested before ``cutoff`` (None: all), as a model trained that day would have seen them
    (and only the SIU outcomes closed before it: ``known_outcomes``),
    and starting at least ``warmup_days`` after the first claim (point-in-time provider and
    network features have no history before; a reference profile holding those claims would
    see every later batch drift as the features fill up)."""

    cutoff: datetime | None = None
    warmup_days: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> TrainingWindow:
        values = dict(values or {})
        cutoff = params.optional_timestamp(values.pop("cutoff", None), "training_cutoff")
        warmup = params.non_negative_integer(
            values.pop("warmup_days", 0) or 0, "training_warmup_days"
        )
        if values:
            raise ValueError(f"unknown training window setting(s): {', '.join(sorted(values))}")
        return cls(cutoff=cutoff, warmup_days=warmup)

    def select(self, features: pd.DataFrame) -> pd.DataFrame:
        """The claims of ``features`` training may use; ValueError, naming the window, when
        none are left."""
        if features.empty:
            return features
        keep = pd.Series(True, index=features.index)
        if self.cutoff is not None:
            keep &= pd.to_datetime(features["ingested_at"]) < pd.Timestamp(self.cutoff)
        if self.warmup_days:
            days = pd.to_datetime(features[DATE_COLUMN])
            keep &= days >= days.min() + pd.Timedelta(days=self.warmup_days)
        if not keep.any():
            first = pd.to_datetime(features[DATE_COLUMN]).min()
            last = pd.to_datetime(features["ingested_at"]).max()
            raise ValueError(
                f"no claim of fct_claim_features is in the training window ({self.describe()}): "
                f"{len(features):,} claims, starting {first:%Y-%m-%d}, ingested up to "
                f"{last:%Y-%m-%d %H:%M}; set the training job's parameters training_cutoff and "
                "training_warmup_days (dbt vars of the same names) to fit the data"
            )
        return features.loc[keep].reset_index(drop=True)

    def known_outcomes(self, investigations: pd.DataFrame) -> pd.DataFrame:
        """The SIU outcomes a model trained at ``cutoff`` could have known: those closed
        before it (all without a cutoff). An outcome closed later would teach the model what
        the SIU found out only after its training day."""
        if self.cutoff is None or investigations.empty:
            return investigations
        closed = pd.to_datetime(investigations["investigation_closed_date"])
        return investigations.loc[closed < pd.Timestamp(self.cutoff)].reset_index(drop=True)

    def describe(self) -> str:
        cutoff = f"ingested before {self.cutoff:%Y-%m-%d %H:%M}" if self.cutoff else "all ingested"
        return f"{cutoff}, starting {self.warmup_days} days or more after the first claim"
