"""The disparate impact the promotion gate judges a challenger by, as the SQL computed it.

Disparate impact has one implementation: the macro disparate_impact_by_group
(macros/monitoring/), which mon_disparate_impact applies to every scored batch and
ml_challenger_disparate_impact to the @challenger's flags on every claim up to the end of its
validation window (ml_challenger_scores, logged by training). The `train` selector builds that
table; this module reads the challenger's rows of it for the gate (ml/promote.py). The formulas
and statuses are in the macro's header; python_jobs/tests/monitoring_oracle.py recomputes them
with numpy for the tests.
"""

from __future__ import annotations

import pandas as pd

from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse

CHALLENGER_DI_TABLE = "ml_challenger_disparate_impact"
STATUSES = (
    "pass",
    "warn_significant_within_band",
    "warn_not_significant",
    "fail",
    "insufficient_data",
)
_REBUILD = (
    "build it for the current @challenger with `dbt build --selector train` (which retrains), "
    f"or without retraining with `dbt build --select ml_challenger_scores {CHALLENGER_DI_TABLE}`"
)


def challenger_disparate_impact(warehouse: Warehouse, version: str) -> dict[str, pd.DataFrame]:
    """The rows of ml_challenger_disparate_impact for classifier ``version``, as
    {attribute: one row per group in group order, the group in column ``group``}.

    A missing table, or one built for another version, raises TableNotFoundError naming the
    table and what to run; a status outside ``STATUSES`` raises ValueError."""
    try:
        table = warehouse.read(CHALLENGER_DI_TABLE)
    except TableNotFoundError as exc:
        raise TableNotFoundError(
            "the fairness gate reads the disparate impact of the @challenger's flags from "
            f"{CHALLENGER_DI_TABLE}, which is missing ({exc}): {_REBUILD}"
        ) from exc
    versions = table["model_version"].astype(str)
    rows = table[versions == str(version)]
    if rows.empty:
        held = ", ".join(f"v{held}" for held in sorted(set(versions))) or "no rows"
        raise TableNotFoundError(
            f"{CHALLENGER_DI_TABLE} has no rows for @challenger v{version} (it holds {held}): "
            f"{_REBUILD}"
        )
    unknown = sorted(set(rows["status"].astype(str)) - set(STATUSES))
    if unknown:
        raise ValueError(
            f"{CHALLENGER_DI_TABLE}.status holds unknown fairness status(es) "
            f"{', '.join(unknown)} (expected {', '.join(STATUSES)})"
        )
    rows = rows.rename(columns={"group_name": "group"})
    return {
        str(attribute): frame.sort_values("group").reset_index(drop=True)
        for attribute, frame in rows.groupby("attribute_name", sort=True)
    }
