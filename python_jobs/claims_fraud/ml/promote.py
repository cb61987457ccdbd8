"""`claims-fraud promote`: the champion/challenger gate.

The challenger becomes the champion only when every gate passes:
1. performance: its PR-AUC on its own validation window (SIU labels) is not worse than the
   current champion's on the same window by more than `promotion_pr_auc_tolerance`
   (or there is no champion yet);
2. fairness: the disparate impact of its flags, computed by the SQL monitoring uses (the macro
   disparate_impact_by_group behind mon_disparate_impact: reference groups from the
   monitoring_reference_groups seed, fail = outside the band and significantly outside it), on
   every claim up to the end of its validation window: the population the first monitoring run
   of the new champion sees, so the gate does not pass what monitoring then fails. The `train`
   selector builds it (ml_challenger_scores, then ml_challenger_disparate_impact); the gate reads
   that table. No group may be `fail`;
3. data tests: no error-severity data or unit test of the data a challenger is trained on
   (sources, staging, validation, features, the training run) failed in its latest run. Tests of
   the scoring and monitoring models judge the champion being replaced: a drift or fairness
   failure there is what asks for the retrain, so it must not block it.
A failing challenger is never promoted; there is no switch that promotes anyway. Every run
appends one row to `ml_promotion_decisions`, promoted or not.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from claims_fraud.ml.evaluate import classification_metrics
from claims_fraud.ml.fairness import challenger_disparate_impact
from claims_fraud.ml.tracking import (
    CHALLENGER,
    CHAMPION,
    MlflowSettings,
    require_version_by_alias,
    set_champion,
    version_by_alias,
)
from claims_fraud.ml.train import label_claims
from claims_fraud.ml.training_job import DATE_COLUMN, thresholds_from_seed
from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse

DECISIONS_TABLE = "ml_promotion_decisions"
TEST_RESULTS_TABLE = "dbt_test_results"
FAILED_STATUSES = ("fail", "error")


@dataclass(frozen=True)
class Gate:
    """One gate's measured value, the rule it was held to, and its verdict."""

    name: str
    passed: bool
    value: float | None
    rule: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromotionDecision:
    decision_id: str
    model_name: str
    challenger_version: str
    champion_version_before: str | None
    champion_version_after: str | None
    gates: tuple[Gate, ...]
    decided_at: datetime

    @property
    def promoted(self) -> bool:
        return self.champion_version_after == self.challenger_version and (
            self.champion_version_before != self.challenger_version
        )

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "decision_id": self.decision_id,
            "action": "promote",
            "model_name": self.model_name,
            "challenger_version": self.challenger_version,
            "champion_version_before": self.champion_version_before,
            "champion_version_after": self.champion_version_after,
            "is_promoted": self.promoted,
            "all_gates_passed": all(gate.passed for gate in self.gates),
        }
        for gate in self.gates:
            row[f"{gate.name}_value"] = gate.value
            row[f"{gate.name}_passed"] = gate.passed
            row[f"{gate.name}_rule"] = gate.rule
            row[f"{gate.name}_detail"] = json.dumps(gate.detail, default=str, sort_keys=True)
        row["decided_at"] = self.decided_at
        return row

    def to_frame(self) -> pd.DataFrame:
        """The row with explicit types, so a first row with nulls still creates typed columns."""
        row = self.to_row()
        types = {
            column: (
                "boolean"
                if column.startswith("is_") or column.endswith("_passed")
                else "float64"
                if column.endswith("_value")
                else "datetime64[us]"
                if column == "decided_at"
                else "string"
            )
            for column in row
        }
        return pd.DataFrame([row]).astype(types)

    def describe(self) -> str:
        lines = [
            f"challenger {self.model_name} v{self.challenger_version}; champion before: "
            f"{'v' + self.champion_version_before if self.champion_version_before else 'none'}",
        ]
        for gate in self.gates:
            value = "n/a" if gate.value is None else f"{gate.value:.4f}"
            lines.append(
                f"  {'PASS' if gate.passed else 'FAIL'}  {gate.name:<12} {value:>8}  {gate.rule}"
            )
        if self.promoted:
            lines.append(f"promoted: v{self.challenger_version} is now @champion")
        elif self.champion_version_before == self.challenger_version:
            lines.append(f"v{self.challenger_version} already is @champion; nothing changed")
        else:
            kept = self.champion_version_after
            lines.append(
                "not promoted: "
                + (f"v{kept} stays @champion" if kept else "there is still no @champion")
            )
        return "\n".join(lines)


def performance_gate(
    challenger_pr_auc: float, champion_pr_auc: float | None, tolerance: float
) -> Gate:
    rule = f"PR-AUC >= champion's - {tolerance:g} on the challenger's validation window"
    if champion_pr_auc is None or math.isnan(champion_pr_auc):
        return Gate("performance", True, challenger_pr_auc, rule, {"champion_pr_auc": None})
    passed = challenger_pr_auc >= champion_pr_auc - tolerance
    detail = {"champion_pr_auc": champion_pr_auc, "tolerance": tolerance}
    return Gate("performance", passed, challenger_pr_auc, rule, detail)


def fairness_gate(results: dict[str, pd.DataFrame], band: tuple[float, float]) -> Gate:
    """Fails when any group of any protected attribute has status `fail`. The value is the
    disparate impact farthest from 1 (on the log scale) among all groups."""
    worst, detail = None, {}
    failed = False
    for attribute, frame in results.items():
        groups = frame.to_dict(orient="records")
        detail[attribute] = [
            {
                key: group[key]
                for key in ("group", "n", "flag_rate", "disparate_impact", "p_adjusted", "status")
            }
            for group in groups
        ]
        failed = failed or any(group["status"] == "fail" for group in groups)
        for group in groups:
            ratio = group["disparate_impact"]
            if (
                ratio
                and not math.isnan(ratio)
                and (worst is None or abs(math.log(ratio)) > abs(math.log(worst)))
            ):
                worst = ratio
    rule = f"no protected group significantly outside {band[0]:g}-{band[1]:g} (fail)"
    return Gate("fairness", not failed, worst, rule, detail)


def data_tests_gate(test_results: pd.DataFrame | None) -> Gate:
    """The latest recorded result of each dbt test that gates promotion (column
    gates_promotion, written by the record_test_results macro; tests recorded before it
    existed count); fails on any error-severity failure among them."""
    rule = "no error-severity test of the training data failed in its latest run"
    if test_results is None or test_results.empty:
        return Gate(
            "data_tests",
            False,
            None,
            rule,
            {"reason": "no recorded dbt test results: run dbt build first"},
        )
    latest = test_results.sort_values("completed_at").drop_duplicates("test_unique_id", keep="last")
    if "gates_promotion" in latest.columns:
        ignored = latest["gates_promotion"].eq(False).fillna(False).astype(bool)
    else:
        ignored = pd.Series(False, index=latest.index)
    gating = latest[~ignored]
    failing = gating[
        gating["status"].isin(FAILED_STATUSES) & (gating["severity"].str.upper() == "ERROR")
    ]
    detail = {
        "failed_tests": sorted(failing["test_unique_id"]),
        "tests_checked": len(gating),
        "tests_of_scoring_and_monitoring_ignored": int(ignored.sum()),
    }
    return Gate("data_tests", failing.empty, float(len(failing)), rule, detail)


def _load(name: str, version: str) -> Any:
    return mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()


def _champion_pr_auc(
    name: str, version: str, labelled: pd.DataFrame, budget: float
) -> float | None:
    """The champion's PR-AUC on the challenger's window, or None when its model does not load:
    a broken champion cannot score, so it is no bar to replace (the challenger still has to pass
    the fairness and data-test gates). Otherwise the retrain `make run` starts on a broken
    champion could never be promoted."""
    try:
        model = _load(name, version)
    # Missing folder, corrupt pickle, ...: anything that stops it loading (see tracking.py).
    except Exception as exc:
        logging.getLogger(__name__).warning(
            "@champion %s v%s does not load (%s: %s): the challenger is judged as if there "
            "were no champion",
            name,
            version,
            type(exc).__name__,
            exc,
        )
        return None
    return _pr_auc(model, labelled, budget)


def _window(features: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    days = pd.to_datetime(features[DATE_COLUMN]).dt.date
    return features.loc[(days >= start) & (days <= end)].reset_index(drop=True)


def _pr_auc(model: Any, labelled: pd.DataFrame, budget: float) -> float:
    scores = np.asarray(model.predict(None, labelled))
    return float(classification_metrics(labelled["label"], scores, budget)["pr_auc"])


def run_promotion(
    warehouse: Warehouse, settings: MlflowSettings, decided_at: datetime | None = None
) -> PromotionDecision:
    """Evaluate the gates for the current @challenger, move @champion if all pass, record it."""
    decided_at = decided_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    client: MlflowClient = settings.activate()
    name = settings.classifier_name
    challenger = require_version_by_alias(client, name, CHALLENGER)
    champion = version_by_alias(client, name, CHAMPION)
    thresholds = thresholds_from_seed(warehouse.read("monitoring_thresholds"))
    budget = thresholds["flag_budget_share"]

    start = date.fromisoformat(challenger.tags["validation_start"])
    end = date.fromisoformat(challenger.tags["validation_end"])
    features = warehouse.read("fct_claim_features")
    window = _window(features, start, end)
    labelled = label_claims(window, warehouse.read("stg_claims__siu_investigation"))

    challenger_version = str(challenger.version)
    champion_before = str(champion.version) if champion is not None else None
    fairness = challenger_disparate_impact(warehouse, challenger_version)
    challenger_model = _load(name, challenger_version)
    champion_pr_auc = None
    if champion_before is not None:
        champion_pr_auc = _champion_pr_auc(name, champion_before, labelled, budget)
    band = (thresholds["disparate_impact_lower"], thresholds["disparate_impact_upper"])
    try:
        test_results = warehouse.read(TEST_RESULTS_TABLE)
    except TableNotFoundError:
        test_results = None
    gates = (
        performance_gate(
            _pr_auc(challenger_model, labelled, budget),
            champion_pr_auc,
            thresholds["promotion_pr_auc_tolerance"],
        ),
        fairness_gate(fairness, band),
        data_tests_gate(test_results),
    )

    champion_after = champion_before
    if all(gate.passed for gate in gates):
        set_champion(
            client, settings, challenger_version, challenger.tags.get("autoencoder_version")
        )
        champion_after = challenger_version

    decision = PromotionDecision(
        decision_id=uuid.uuid4().hex,
        model_name=name,
        challenger_version=challenger_version,
        champion_version_before=champion_before,
        champion_version_after=champion_after,
        gates=gates,
        decided_at=decided_at,
    )
    warehouse.append(DECISIONS_TABLE, decision.to_frame())
    _describe_gate(client, name, decision)
    return decision


def _describe_gate(client: MlflowClient, name: str, decision: PromotionDecision) -> None:
    """Append the gate's verdicts to the challenger version's description (the registry's
    own record of why a version is, or is not, the champion)."""
    verdicts = "; ".join(
        f"{gate.name} {'PASS' if gate.passed else 'FAIL'}"
        + ("" if gate.value is None else f" ({gate.value:.4f})")
        for gate in decision.gates
    )
    outcome = "promoted to @champion" if decision.promoted else "not promoted"
    found = client.get_model_version(name, decision.challenger_version)
    line = f"Promotion gate {decision.decided_at:%Y-%m-%d %H:%M} UTC: {verdicts}: {outcome}."
    text = f"{found.description}\n{line}" if found.description else line
    client.update_model_version(name, decision.challenger_version, description=text)
