"""`claims-fraud rollback`: move @champion back to a version that passed its promotion gate.

Only a version that `claims-fraud promote` once promoted (a row of ml_promotion_decisions with
is_promoted) can become @champion again: a version that never passed its gate is refused, as
are the current champion itself and a version whose model files no longer load. Without
``--to-version`` the target is the most recently promoted version other than the current
champion. The autoencoder follows the classifier (the autoencoder version trained with it, its
``autoencoder_version`` tag). Every rollback appends a row to ml_promotion_decisions (action
``rollback``, from, to, reason, who, when), next to the promotions.
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from mlflow import MlflowClient

from claims_fraud.ml.promote import DECISIONS_TABLE
from claims_fraud.ml.tracking import (
    CHAMPION,
    BrokenModelError,
    MlflowSettings,
    load_version,
    require_version_by_alias,
    set_champion,
)
from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse


class RollbackRefusedError(RuntimeError):
    """The rollback asked for cannot be done; nothing was changed."""


@dataclass(frozen=True)
class Rollback:
    decision_id: str
    model_name: str
    champion_version_before: str
    champion_version_after: str
    autoencoder_version_after: str | None
    reason: str
    decided_by: str
    decided_at: datetime

    def to_frame(self) -> pd.DataFrame:
        row = {
            "decision_id": self.decision_id,
            "action": "rollback",
            "model_name": self.model_name,
            "champion_version_before": self.champion_version_before,
            "champion_version_after": self.champion_version_after,
            "is_promoted": False,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }
        types = dict.fromkeys(row, "string")
        types.update(is_promoted="boolean", decided_at="datetime64[us]")
        return pd.DataFrame([row]).astype(types)

    def describe(self) -> str:
        autoencoder = (
            f" (autoencoder v{self.autoencoder_version_after})"
            if self.autoencoder_version_after
            else ""
        )
        return (
            f"rolled back: {self.model_name} @champion v{self.champion_version_before} -> "
            f"v{self.champion_version_after}{autoencoder}; reason: {self.reason}; by "
            f"{self.decided_by}. Recorded in {DECISIONS_TABLE}. Rescore with `make score`."
        )


def promoted_versions(decisions: pd.DataFrame, model_name: str) -> list[str]:
    """Versions `promote` made @champion (passed their gate), most recent promotion first."""
    if decisions.empty or "is_promoted" not in decisions.columns:
        return []
    rows = decisions.loc[
        (decisions["model_name"] == model_name)
        & decisions["is_promoted"].fillna(False).astype(bool)
    ]
    if "action" in rows.columns:
        rows = rows.loc[rows["action"].isna() | (rows["action"] == "promote")]
    ordered = rows.sort_values("decided_at", ascending=False, kind="stable")
    return list(dict.fromkeys(str(version) for version in ordered["challenger_version"]))


def choose_target(passed: list[str], current: str, to_version: str | None) -> str:
    """The version to roll back to, or RollbackRefusedError saying why none can be."""
    shown = ", ".join(f"v{version}" for version in passed) or "none"
    if to_version is not None:
        if to_version == current:
            raise RollbackRefusedError(f"v{to_version} already is @champion: nothing to roll back")
        if to_version not in passed:
            raise RollbackRefusedError(
                f"v{to_version} never passed its promotion gate (no promotion of it in "
                f"{DECISIONS_TABLE}), so it cannot be @champion; versions that passed: {shown}"
            )
        return to_version
    earlier = [version for version in passed if version != current]
    if not earlier:
        raise RollbackRefusedError(
            f"no version other than the current @champion v{current} ever passed its promotion "
            f"gate (versions that passed: {shown}): there is nothing to roll back to"
        )
    return earlier[0]


def _check_loads(client: MlflowClient, name: str, version: str) -> None:
    try:
        load_version(client, client.get_model_version(name, version), "champion")
    except BrokenModelError as exc:
        raise RollbackRefusedError(f"{exc}; it cannot be @champion") from exc


def who_decides() -> str:
    """The person (or job) behind the rollback: CLAIMS_FRAUD_DECIDED_BY, else the OS user."""
    try:
        return os.environ.get("CLAIMS_FRAUD_DECIDED_BY") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run_rollback(
    warehouse: Warehouse,
    settings: MlflowSettings,
    reason: str,
    to_version: str | None = None,
    decided_by: str | None = None,
    decided_at: datetime | None = None,
) -> Rollback:
    """Move @champion (classifier and autoencoder) back, after the checks; record it."""
    reason = (reason or "").strip()
    if not reason:
        raise RollbackRefusedError("a rollback needs a reason (--reason TEXT): it is audited")
    client = settings.activate()
    name = settings.classifier_name
    current = str(require_version_by_alias(client, name, CHAMPION).version)
    try:
        decisions = warehouse.read(DECISIONS_TABLE)
    except TableNotFoundError:
        decisions = pd.DataFrame()
    target = choose_target(promoted_versions(decisions, name), current, to_version)
    _check_loads(client, name, target)
    autoencoder = client.get_model_version(name, target).tags.get("autoencoder_version")
    if autoencoder:
        _check_loads(client, settings.autoencoder_name, autoencoder)
    set_champion(client, settings, target, autoencoder)
    rollback = Rollback(
        decision_id=uuid.uuid4().hex,
        model_name=name,
        champion_version_before=current,
        champion_version_after=target,
        autoencoder_version_after=autoencoder,
        reason=reason,
        decided_by=decided_by or who_decides(),
        decided_at=decided_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    )
    warehouse.append(DECISIONS_TABLE, rollback.to_frame())
    return rollback
