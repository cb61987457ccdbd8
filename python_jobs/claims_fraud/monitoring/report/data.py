"""The report's data: the mon_* tables, the promotion audit, the alert log and the
monitoring_thresholds seed (as dbt loaded it into the warehouse), read through
:mod:`claims_fraud.warehouse`, and the batches they cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import pandas as pd

from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse

SCORE_FEATURE = "fraud_probability"
MAX_BATCHES = 20
THRESHOLDS_TABLE = "monitoring_thresholds"

MONITORING_TABLES: dict[str, str] = {
    "feature_psi": "mon_feature_psi",
    "psi_bins": "mon_feature_psi_bins",
    "score_distribution": "mon_score_distribution",
    "disparate_impact": "mon_disparate_impact",
    "data_volume": "mon_data_volume",
}
OPTIONAL_TABLES: dict[str, str] = {
    "promotions": "ml_promotion_decisions",
    "alerts": "mon_alerts",
    "review_queue": "siu_review_queue",
    "member_tours": "siu_member_tours",
    "batches": "mon_batches",
    "performance": "mon_model_performance",
}


@dataclass(frozen=True)
class Thresholds:
    """The lines the charts draw, one field per threshold_name of the monitoring_thresholds
    seed (seeds/monitoring_thresholds.csv owns the values; the verdicts themselves always come
    from the monitoring tables' status columns)."""

    psi_warn: float
    psi_error: float
    disparate_impact_lower: float
    disparate_impact_upper: float

    @classmethod
    def from_table(cls, rows: pd.DataFrame, table: str = THRESHOLDS_TABLE) -> Thresholds:
        """The thresholds from the seed's rows (threshold_name, threshold_value); a missing,
        non-numeric or inverted threshold raises ValueError naming the table and the name."""
        fix = f"fix seeds/{THRESHOLDS_TABLE}.csv and reload it (dbt seed, or make monitor)"
        absent = [c for c in ("threshold_name", "threshold_value") if c not in rows.columns]
        if absent:
            raise ValueError(f"table {table} has no column {', '.join(absent)}; {fix}")
        values = dict(zip(rows["threshold_name"].astype(str), rows["threshold_value"], strict=True))
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in values]
        if missing:
            raise ValueError(f"table {table} has no threshold_name {', '.join(missing)}; {fix}")
        numbers: dict[str, float] = {}
        for name in names:
            try:
                numbers[name] = float(values[name])
            except (TypeError, ValueError):
                numbers[name] = math.nan
            if not math.isfinite(numbers[name]) or numbers[name] < 0:
                raise ValueError(
                    f"table {table}: threshold_value of {name} must be a number >= 0, "
                    f"got {values[name]!r}; {fix}"
                )
        for low, high in (
            ("psi_warn", "psi_error"),
            ("disparate_impact_lower", "disparate_impact_upper"),
        ):
            if not numbers[low] < numbers[high]:
                raise ValueError(
                    f"table {table}: {low} ({numbers[low]:g}) must be below {high} "
                    f"({numbers[high]:g}); {fix}"
                )
        return cls(**numbers)


@dataclass(frozen=True)
class ReportData:
    """The tables the report reads, as pandas frames (column names as in the warehouse), and
    the thresholds its charts draw."""

    feature_psi: pd.DataFrame
    psi_bins: pd.DataFrame
    score_distribution: pd.DataFrame
    disparate_impact: pd.DataFrame
    data_volume: pd.DataFrame
    promotions: pd.DataFrame
    alerts: pd.DataFrame
    thresholds: Thresholds
    review_queue: pd.DataFrame = field(default_factory=pd.DataFrame)
    member_tours: pd.DataFrame = field(default_factory=pd.DataFrame)
    batches: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_report_data(warehouse: Warehouse) -> ReportData:
    """Read the report's tables. Promotions and alerts may not exist yet (empty frames);
    a missing monitoring table or thresholds seed raises TableNotFoundError naming it."""
    frames: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for field_name, table in {**MONITORING_TABLES, "thresholds": THRESHOLDS_TABLE}.items():
        try:
            frames[field_name] = warehouse.read(table)
        except TableNotFoundError:
            missing.append(table)
    if missing:
        raise TableNotFoundError(
            f"monitoring table(s) not found: {', '.join(missing)}; run `make monitor` first"
        )
    for field_name, table in OPTIONAL_TABLES.items():
        try:
            frames[field_name] = warehouse.read(table)
        except TableNotFoundError:
            frames[field_name] = pd.DataFrame()
    thresholds = Thresholds.from_table(frames.pop("thresholds"))
    return ReportData(**frames, thresholds=thresholds)


def of_batch(frame: pd.DataFrame, batch_id: str | None) -> pd.DataFrame:
    """The rows of one batch (none when the frame has no batch_id or no batch is selected)."""
    if frame.empty or "batch_id" not in frame.columns or batch_id is None:
        return frame.iloc[0:0]
    return frame[frame["batch_id"] == batch_id]


def monitored_batches(data: ReportData) -> pd.DataFrame:
    """Every monitored batch in time order: by the start of its ingest window (mon_batches)
    where known, else by scored_at (the batches of one backfill share their scored_at):
    batch_id, model_version, scored_at."""
    columns = ["batch_id", "model_version", "scored_at"]
    parts = [
        frame[columns]
        for frame in (
            data.score_distribution,
            data.feature_psi,
            data.data_volume,
            data.disparate_impact,
        )
        if not frame.empty and set(columns) <= set(frame.columns)
    ]
    if not parts:
        return pd.DataFrame(columns=[*columns, "order"])
    rows = pd.concat(parts, ignore_index=True).dropna(subset=["batch_id"])
    rows["order"] = pd.to_datetime(rows["scored_at"], utc=True, errors="coerce")
    if not data.batches.empty and "window_start" in data.batches.columns:
        starts = pd.to_datetime(
            data.batches.set_index("batch_id")["window_start"], utc=True, errors="coerce"
        )
        rows["order"] = rows["batch_id"].map(starts).fillna(rows["order"])
    rows = rows.sort_values(["order", "batch_id"], na_position="first", kind="stable")
    grouped = rows.groupby("batch_id", sort=False).agg(
        model_version=("model_version", "first"),
        scored_at=("scored_at", "last"),
        order=("order", "last"),
    )
    grouped = grouped.reset_index().sort_values(["order", "batch_id"], na_position="first")
    return grouped.reset_index(drop=True)


def batch_window(batches: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The batches up to the selected one, MAX_BATCHES at most."""
    position = int(batches.index[batches["batch_id"] == batch_id][0])
    return batches.iloc[max(0, position + 1 - MAX_BATCHES) : position + 1]
