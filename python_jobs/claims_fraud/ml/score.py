"""Batch scoring with the @champion models: what the `fraud_scores` dbt Python model calls.

A batch is the claims of fct_claim_features ingested in [window_start, window_end) (either
bound optional), identified by batch_id; the dbt model replaces a batch's rows on rerun.
Everything is checked before a single score is computed: a missing champion, a champion whose
model or reference profile is missing or does not load, a model trained on features that are
not there, or a feature column of the wrong type raises an error that names what is wrong, so
nothing is written. A batch with no claims (an empty window, a 0-row delivery, a delivery that
was all quarantined) is not an error: it is logged and scores to 0 rows, and monitoring reports
the batch as no_data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from claims_fraud.features.spec import FEATURES_MODEL
from claims_fraud.ml.reference_tables import check_reference
from claims_fraud.ml.tracking import (
    CHALLENGER,
    CHAMPION,
    BrokenModelError,
    MlflowSettings,
    load_version_by_alias,
    version_by_alias,
)
from claims_fraud.warehouse import params
from claims_fraud.warehouse.frames import (
    claims_in_windows,
    row_count,
    rows_in_window,
    to_pandas,
)

log = logging.getLogger(__name__)

SCORE_COLUMNS = {
    "claim_id": "string",
    "fraud_probability": "float64",
    "anomaly_score": "float64",
    "is_flagged": "bool",
    "model_name": "string",
    "model_version": "string",
    "run_id": "string",
    "anomaly_model_version": "string",
    "batch_id": "string",
    "scored_at": "datetime64[us]",
    "window_start": "datetime64[us]",
    "window_end": "datetime64[us]",
}


@dataclass(frozen=True)
class ChampionModels:
    """The loaded @champion classifier and autoencoder, with their registry coordinates."""

    classifier: Any
    autoencoder: Any
    model_name: str
    model_version: str
    run_id: str
    anomaly_model_version: str


def load_champions(settings: MlflowSettings, alias: str = CHAMPION) -> ChampionModels:
    """Load both models by alias (scoring always uses @champion; the benchmark times the
    latest @challenger too) and check the reference profile logged with the classifier's run,
    which monitoring compares each scored batch with. A missing alias (NoModelWithAliasError)
    or a model or reference artifact that is missing or does not load (BrokenModelError) says
    which model, version and artifact, and what to run; `claims-fraud has-champion` runs this."""
    client = settings.activate()
    classifier_version, classifier = load_version_by_alias(client, settings.classifier_name, alias)
    autoencoder_version, autoencoder = load_version_by_alias(
        client, settings.autoencoder_name, alias
    )
    check_reference(client, classifier_version, alias)
    return ChampionModels(
        classifier=classifier.unwrap_python_model(),
        autoencoder=autoencoder.unwrap_python_model(),
        model_name=settings.classifier_name,
        model_version=str(classifier_version.version),
        run_id=str(classifier_version.run_id),
        anomaly_model_version=str(autoencoder_version.version),
    )


def select_batch(
    features: pd.DataFrame, window_start: str | None = None, window_end: str | None = None
) -> pd.DataFrame:
    """The claims ingested in [window_start, window_end); no bound means no limit. A bound
    that is not a real date (params.optional_timestamp) raises before anything is scored."""
    start = params.optional_timestamp(window_start, "scoring_window_start")
    end = params.optional_timestamp(window_end, "scoring_window_end")
    return select_window(features, start, end)


def select_window(
    features: pd.DataFrame, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """The claims ingested in [start, end) (None: unbounded)."""
    return rows_in_window(features, start, end)


def score_planned_batches(
    features: Any,
    models: ChampionModels,
    batches: list[params.ScoringBatch],
    warn_empty: bool = True,
) -> pd.DataFrame:
    """Every planned batch scored with one load of the models and one scored_at; an empty
    batch is logged (monitoring reports it as no_data) and adds no rows. ``features``: a
    pandas frame or a dbt ref (DuckDB relation, Spark frame), of which only the claims of the
    planned windows are read, a chunk at a time (warehouse.frames.claims_in_windows)."""
    scored_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    windows = [(planned.start, planned.end) for planned in batches]
    parts, scored = [], {planned.batch_id: 0 for planned in batches}
    for chunk in claims_in_windows(features, windows):
        for planned in batches:
            batch = select_window(chunk, planned.start, planned.end)
            if batch.empty:
                continue
            scored[planned.batch_id] += len(batch)
            parts.append(
                score_batch(
                    batch, models, planned.batch_id, scored_at, (planned.start, planned.end)
                )
            )
    for planned in batches:
        if scored[planned.batch_id] == 0:
            # the models still check the columns they need, on no rows: a missing feature
            # fails an empty batch as it fails a full one
            window = (planned.start, planned.end)
            parts.append(
                score_batch(_no_claims(features), models, planned.batch_id, scored_at, window)
            )
            if warn_empty:
                start, end = _text(planned.start), _text(planned.end)
                log_empty_batch(planned.batch_id, start, end, row_count(features))
    filled = [part for part in parts if not part.empty]
    return pd.concat(filled, ignore_index=True) if filled else parts[0]


def _no_claims(features: Any) -> pd.DataFrame:
    """The columns and types of ``features`` without a row (what an empty batch is scored on)."""
    if isinstance(features, pd.DataFrame):
        return features.iloc[0:0]
    return to_pandas(features.limit(0))


def _text(bound: datetime | None) -> str | None:
    """A window bound as the log names it: the date alone at midnight (as the vars say it)."""
    if bound is None:
        return None
    return f"{bound:%Y-%m-%d}" if bound.time() == datetime.min.time() else bound.isoformat(sep=" ")


def score_batch(
    features: pd.DataFrame,
    champions: ChampionModels,
    batch_id: str,
    scored_at: datetime | None = None,
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> pd.DataFrame:
    """One row per claim: probability, anomaly score, flag, and the lineage of the scores
    (the batch, its ingest window [start, end) with None for an unbounded side, when)."""
    params.batch_id(batch_id)
    classifier, autoencoder = champions.classifier, champions.autoencoder
    for model in (classifier, autoencoder):
        model.check(features, FEATURES_MODEL)
    if features.empty:
        # The models are not asked about no rows (some flavours fail on them): no claims, no scores.
        return empty_scores()
    scored_at = scored_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    probability = np.asarray(classifier.predict(None, features), dtype="float64")
    anomaly = np.asarray(autoencoder.predict(None, features), dtype="float64")
    scores = pd.DataFrame(
        {
            "claim_id": features["claim_id"].astype("string"),
            "fraud_probability": probability,
            "anomaly_score": anomaly,
            "is_flagged": probability >= classifier.flag_threshold,
            "model_name": champions.model_name,
            "model_version": champions.model_version,
            "run_id": champions.run_id,
            "anomaly_model_version": champions.anomaly_model_version,
            "batch_id": batch_id,
            "scored_at": scored_at,
            "window_start": pd.Timestamp(window[0]) if window[0] else pd.NaT,
            "window_end": pd.Timestamp(window[1]) if window[1] else pd.NaT,
        }
    )
    return scores.astype(SCORE_COLUMNS)


def empty_scores() -> pd.DataFrame:
    """No scores, with the columns and types of score_batch's result (what the table gets)."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in SCORE_COLUMNS.items()})


def describe_window(window_start: str | None, window_end: str | None) -> str:
    """[start, end) as the log says it; a missing bound is unbounded."""
    return f"[{window_start or 'unbounded'}, {window_end or 'unbounded'})"


def score_from_dbt(features: Any, meta: dict[str, Any] | None) -> pd.DataFrame:
    """The `fraud_scores` model's one call: settings from its `meta.scoring` mapping."""
    meta = dict(meta or {})
    # The vars were checked by dbt (macros/validation/) before any node ran; checked again here,
    # where they are used, so a direct call cannot pass what dbt refuses.
    batches = params.scoring_batches_from_meta(meta)
    settings = MlflowSettings.from_mapping(meta.get("mlflow") or {})
    champions = load_champions(settings)
    return score_planned_batches(features, champions, batches)


def log_empty_batch(
    batch_id: str, window_start: str | None, window_end: str | None, n_features: int
) -> None:
    """Say which batch is empty and why it may be, at WARNING (dbt shows it; nothing fails)."""
    if n_features == 0:
        reason = (
            "fct_claim_features has no rows at all (a 0-row delivery, or every line "
            "quarantined: see claims_quarantine)"
        )
    else:
        reason = f"none of the {n_features:,} claims of fct_claim_features was ingested in it"
    log.warning(
        "scoring batch %s (window %s) is empty: %s. fraud_scores gets 0 rows for it and "
        "monitoring reports the batch as no_data.",
        batch_id,
        describe_window(window_start, window_end),
        reason,
    )


# --- shadow scoring -----------------------------------------------------------------------------

SHADOW_COLUMNS = {**SCORE_COLUMNS, "model_alias": "string"}


def empty_shadow_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {column: pd.Series(dtype=dtype) for column, dtype in SHADOW_COLUMNS.items()}
    )


def shadow_scores_from_dbt(features: Any, meta: dict[str, Any] | None) -> pd.DataFrame:
    """The ``fraud_scores_shadow`` model's one call: the batch scored by @challenger too, when
    the registry has a challenger other than the champion (shadow: nobody acts on these flags;
    ml_shadow_comparison compares them with the champion's). No such challenger, or one whose
    files do not load, gives 0 rows and a WARNING naming why: shadow scoring never stops the
    champion's scores from being written."""
    meta = dict(meta or {})
    batches = params.scoring_batches_from_meta(meta)
    batch_id = params.describe_batches([b.batch_id for b in batches])
    settings = MlflowSettings.from_mapping(meta.get("mlflow") or {})
    client = settings.activate()
    challenger = version_by_alias(client, settings.classifier_name, CHALLENGER)
    champion = version_by_alias(client, settings.classifier_name, CHAMPION)
    if challenger is None or (champion is not None and challenger.version == champion.version):
        log.info("no @challenger other than the @champion: batch %s has no shadow scores", batch_id)
        return empty_shadow_scores()
    try:
        models = load_champions(settings, alias=CHALLENGER)
    except BrokenModelError as exc:
        log.warning("batch %s is not shadow-scored: %s", batch_id, exc)
        return empty_shadow_scores()
    scores = score_planned_batches(features, models, batches, warn_empty=False)
    return scores.assign(model_alias=CHALLENGER).astype(SHADOW_COLUMNS)
