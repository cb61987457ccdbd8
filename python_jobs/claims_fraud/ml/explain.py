"""Why a claim was flagged: the champion classifier's top TreeSHAP contributions per claim.

What the ``ml_score_contributions`` dbt Python model calls, right after ``fraud_scores``: for
every flagged claim of the batch, the ``TOP_REASONS`` inputs that pushed its score up the most
(positive contributions to the margin, i.e. the log-odds of fraud; computed by XGBoost's
``pred_contribs`` or CatBoost's ``ShapValues``, see claims_fraud.portable_model), each with the
claim's value of that input as an investigator reads it (``display_value``). The SQL model
``fraud_score_explanations`` turns them into sentences with the templates of
``seeds/ref_reason_templates.csv``.

The model explained is the version that scored the batch (fraud_scores.model_version), loaded
by version, not by alias: if @champion moved since, the reasons still match the scores.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from claims_fraud.ml.tracking import MlflowSettings, load_version
from claims_fraud.portable_model import top_contributions
from claims_fraud.warehouse import params

log = logging.getLogger(__name__)

TOP_REASONS = 3
_ROW_COLUMNS = ("claim_id", "reason_rank", "feature_name", "feature_value", "contribution")
CONTRIBUTION_COLUMNS = {
    "claim_id": "string",
    "batch_id": "string",
    "model_name": "string",
    "model_version": "string",
    "reason_rank": "int32",
    "feature_name": "string",
    "feature_value": "string",
    "contribution": "float64",
    # when the batch was scored (fraud_scores.scored_at): a rescore deletes the rows before it
    "scored_at": "datetime64[us]",
}


def display_value(value: Any, kind: str, feature: str = "") -> str:
    """A feature value as an investigator reads it: shares (``*_share``, ``*_ratio``) as
    percentages, excess shares (``*_excess``) in percentage points, other numbers with thousands
    separators (two decimals unless whole), booleans yes/no, levels as they are, null as
    'missing'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if kind == "boolean":
        return "yes" if bool(value) else "no"
    if kind == "numeric":
        number = float(value)
        if math.isnan(number):
            return "missing"
        if feature.endswith("_excess"):
            points = f"{number * 100:,.0f}"
            return f"{points} percentage point{'' if points in ('1', '-1') else 's'}"
        if feature.endswith(("_share", "_ratio")):
            return f"{number:.0%}"
        return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"
    return str(value)


def explain_claims(features: pd.DataFrame, model: Any, top_k: int = TOP_REASONS) -> pd.DataFrame:
    """(claim_id, reason_rank, feature_name, feature_value, contribution) of the ``top_k``
    positive contributions of each claim of ``features`` (model: a loaded FraudModel)."""
    if features.empty:
        return pd.DataFrame(
            {name: pd.Series(dtype=CONTRIBUTION_COLUMNS[name]) for name in _ROW_COLUMNS}
        )
    values, _ = model.explain(features)
    top = top_contributions(values, top_k)
    kinds = model.input_types
    shown = [
        display_value(features[feature].iloc[row], kinds[feature], feature)
        for row, feature in zip(top["row"], top["feature"], strict=True)
    ]
    return pd.DataFrame(
        {
            "claim_id": features["claim_id"].to_numpy()[top["row"].to_numpy()],
            "reason_rank": top["rank"].to_numpy(),
            "feature_name": top["feature"].to_numpy(),
            "feature_value": shown,
            "contribution": top["contribution"].to_numpy(),
        }
    )


def empty_contributions() -> pd.DataFrame:
    return pd.DataFrame(
        {column: pd.Series(dtype=dtype) for column, dtype in CONTRIBUTION_COLUMNS.items()}
    )


def explain_batch(
    scores: pd.DataFrame,
    features: pd.DataFrame,
    settings: MlflowSettings,
    batch_ids: str | Sequence[str],
) -> pd.DataFrame:
    """The contributions of the flagged claims of the given batches of fraud_scores (one
    batch id or the batches of one scoring run), each explained by the classifier version
    that scored it (loaded once per version)."""
    wanted = [batch_ids] if isinstance(batch_ids, str) else list(batch_ids)
    named = params.describe_batches(wanted)
    batch = scores.loc[scores["batch_id"].isin(wanted) & scores["is_flagged"].astype(bool)]
    if batch.empty:
        log.info("batch %s has no flagged claim: no explanations", named)
        return empty_contributions()
    parts = []
    client = settings.activate()
    loaded: dict[tuple[str, str], Any] = {}
    groups = batch.groupby(["batch_id", "model_name", "model_version"], sort=True)
    for (batch_id, name, version), rows_scored in groups:
        claim_ids = rows_scored["claim_id"]
        rows = features.loc[features["claim_id"].isin(claim_ids)].reset_index(drop=True)
        missing = len(set(claim_ids) - set(rows["claim_id"]))
        if missing:
            raise ValueError(
                f"{missing} flagged claim(s) of batch {batch_id} are not in fct_claim_features: "
                "rebuild the features (make build) and rescore the batch (make score)"
            )
        key = (str(name), str(version))
        if key not in loaded:
            found_version = client.get_model_version(*key)
            loaded[key] = load_version(client, found_version, "champion").unwrap_python_model()
        found = explain_claims(rows, loaded[key])
        parts.append(
            found.assign(
                model_name=key[0],
                model_version=key[1],
                scored_at=rows_scored["scored_at"].max(),
                batch_id=str(batch_id),
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out[list(CONTRIBUTION_COLUMNS)].astype(CONTRIBUTION_COLUMNS)


def contributions_from_dbt(scores: Any, features: Any, meta: dict[str, Any] | None) -> pd.DataFrame:
    """The ``ml_score_contributions`` model's one call: settings from its ``meta.scoring``."""
    from claims_fraud.warehouse.frames import flagged_claims

    meta = dict(meta or {})
    batch_ids = [planned.batch_id for planned in params.scoring_batches_from_meta(meta)]
    settings = MlflowSettings.from_mapping(meta.get("mlflow") or {})
    # only the flagged claims of the run's batches reach pandas, not every claim and score
    flagged, claims = flagged_claims(scores, features, batch_ids)
    return explain_batch(flagged, claims, settings, batch_ids)
