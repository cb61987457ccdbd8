"""Train, evaluate, log and register: what the `ml_training_runs` dbt Python model calls.

One call trains the two supervised candidates (XGBoost, CatBoost) in parallel on SIU-labelled
claims, the tree autoencoder on all claims of the training window, and an IsolationForest
baseline; evaluates all of them on the validation window (against SIU labels and, where the
synthetic ground truth exists, against it per fraud scheme); logs one MLflow run each;
registers the candidates and the autoencoder; and points `@challenger` at the best candidate
and at the autoencoder trained beside it. It returns one row per model for the dbt table.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from claims_fraud.features.spec import (
    FeatureSpec,
    feature_matrix,
    load_feature_spec,
    validate_feature_frame,
)
from claims_fraud.ml.autoencoder import AutoencoderConfig, TreeAutoencoder
from claims_fraud.ml.evaluate import (
    classification_metrics,
    flag_threshold,
    isolation_forest_baseline,
    per_scheme_recall,
)
from claims_fraud.ml.mlflow_models import log_autoencoder, log_classifier
from claims_fraud.ml.profile import (
    INPUTS_FILE,
    PROFILE_FILE,
    PROVIDER,
    QUANTILES_FILE,
    REFERENCE_FOLDER,
    SCORE_COLUMNS,
    SCORES_FILE,
    reference_bins,
    score_quantile_grid,
    window_scores,
)
from claims_fraud.ml.run_figures import (
    IMPORTANCE_ROWS,
    log_classifier_figures,
    mean_abs_contributions,
    version_description,
)
from claims_fraud.ml.tracking import CHALLENGER, MlflowSettings
from claims_fraud.ml.train import (
    DATE_COLUMN,
    Split,
    TrainingConfig,
    best_candidate,
    label_claims,
    predict_probability,
    time_split,
    train_candidates,
)
from claims_fraud.ml.training_window import TrainingWindow
from claims_fraud.portable_model import contributions
from claims_fraud.warehouse.frames import to_pandas

CLASSIFIER_DESCRIPTION = (
    "Supervised claims fraud classifier (XGBoost or CatBoost, whichever scored the higher "
    "validation PR-AUC) trained on fct_claim_features and SIU outcomes. predict -> P(fraud) per "
    "claim; the model.json of each version holds its inputs and flag threshold. @challenger: "
    "the latest training's pick; @champion: promoted by `claims-fraud promote` after the "
    "performance, fairness and data-test gates (ml_promotion_decisions)."
)
AUTOENCODER_DESCRIPTION = (
    "Tree autoencoder: how far a claim's inputs are from what the others predict (anomaly "
    "score, higher = stranger), for claims nobody has investigated; trained with the classifier "
    "it is paired with (the classifier version's autoencoder_version tag)."
)
RESULT_COLUMNS = (
    "model_name",
    "model_version",
    "run_id",
    "flavour",
    "is_challenger",
    "roc_auc",
    "pr_auc",
    "precision_at_budget",
    "recall_at_budget",
    "brier",
    "gt_pr_auc",
    "gt_precision_at_budget",
    "gt_recall_at_budget",
    "flag_threshold",
    "validation_start",
    "validation_end",
    "training_group_id",
    "trained_at",
)


@dataclass(frozen=True)
class TrainingSettings:
    """What the dbt model's `meta.training` mapping holds (every key optional)."""

    mlflow: MlflowSettings
    training: TrainingConfig
    autoencoder: AutoencoderConfig
    evaluate_ground_truth: bool
    window: TrainingWindow = field(default_factory=TrainingWindow)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, flag_budget: float) -> TrainingSettings:
        values = dict(values or {})
        mlflow_values = values.pop("mlflow", None) or {}
        training_values = dict(values.pop("training", None) or {})
        training_values["flag_budget"] = flag_budget
        autoencoder_values = values.pop("autoencoder", None) or {}
        window = TrainingWindow.from_mapping(values.pop("window", None))
        evaluate_ground_truth = wants_ground_truth(
            {"evaluate_ground_truth": values.pop("evaluate_ground_truth", None)}
        )
        if values:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(values))}")
        return cls(
            mlflow=MlflowSettings.from_mapping(mlflow_values),
            training=TrainingConfig.from_dict(training_values),
            autoencoder=AutoencoderConfig.from_dict(autoencoder_values),
            evaluate_ground_truth=evaluate_ground_truth,
            window=window,
        )


def thresholds_from_seed(seed_rows: pd.DataFrame) -> dict[str, float]:
    """The monitoring_thresholds seed as {threshold_name: value}."""
    return {
        str(name): float(value)
        for name, value in zip(
            seed_rows["threshold_name"], seed_rows["threshold_value"], strict=True
        )
    }


def claim_windows(features: pd.DataFrame, split: Split) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All claims (labelled or not) before the validation window, and inside it."""
    days = pd.to_datetime(features[DATE_COLUMN]).dt.date
    train_window = features.loc[days < split.validation_start]
    valid_window = features.loc[(days >= split.validation_start) & (days <= split.validation_end)]
    return train_window.reset_index(drop=True), valid_window.reset_index(drop=True)


def _ground_truth_metrics(
    valid_window: pd.DataFrame,
    scores: np.ndarray,
    ground_truth: pd.DataFrame | None,
    flag_budget: float,
    probabilities: bool,
) -> dict[str, float]:
    """Metrics against the synthetic truth on every claim of the validation window, and the
    recall at the flag budget per fraud scheme (which schemes the model misses)."""
    if ground_truth is None:
        return {}
    truth = valid_window[["claim_id"]].merge(
        ground_truth[["claim_id", "is_fraud", "scheme"]], on="claim_id", how="left"
    )
    is_fraud = truth["is_fraud"].fillna(False).astype(bool).to_numpy()
    metrics = {
        f"gt_{key}": value
        for key, value in classification_metrics(
            is_fraud.astype(int), scores, flag_budget, probabilities=probabilities
        ).items()
    }
    flagged = scores >= flag_threshold(scores, flag_budget)
    by_scheme = per_scheme_recall(truth["scheme"], flagged)
    for row in by_scheme.itertuples():
        metrics[f"gt_recall_at_budget__{row.scheme}"] = float(row.recall)
    return metrics


def _log_common(
    spec: FeatureSpec,
    split: Split,
    train_window: pd.DataFrame,
    valid_window: pd.DataFrame,
    group_id: str,
) -> None:
    mlflow.set_tags({"training_group_id": group_id, "features_model": "fct_claim_features"})
    mlflow.log_params(
        {
            "validation_start": split.validation_start.isoformat(),
            "validation_end": split.validation_end.isoformat(),
            "n_train_labelled": len(split.train),
            "n_valid_labelled": len(split.valid),
            "n_train_window_claims": len(train_window),
            "n_valid_window_claims": len(valid_window),
        }
    )
    mlflow.log_dict(spec.to_dict(), "feature_spec.json")
    train_dataset = mlflow.data.from_pandas(
        split.train[["claim_id", DATE_COLUMN, *spec.inputs, "label"]],
        source="fct_claim_features",
        name="fct_claim_features_train",
        targets="label",
    )
    valid_dataset = mlflow.data.from_pandas(
        split.valid[["claim_id", DATE_COLUMN, *spec.inputs, "label"]],
        source="fct_claim_features",
        name="fct_claim_features_validation",
        targets="label",
    )
    mlflow.log_input(train_dataset, context="training")
    mlflow.log_input(valid_dataset, context="validation")


def _log_profile(
    frame: pd.DataFrame, spec: FeatureSpec, score: np.ndarray, score_name: str
) -> None:
    """The monitoring reference: the bins of every input and of the score, chosen on the training
    window (ml_reference_profile counts the window in them, in SQL), and the score's fine grid."""
    profile = reference_bins(frame, spec, score, score_name=score_name)
    grid = score_quantile_grid(score)
    mlflow.log_table(profile, artifact_file=f"{REFERENCE_FOLDER}/reference_profile.json")
    mlflow.log_table(grid, artifact_file=f"{REFERENCE_FOLDER}/score_quantiles.json")
    with tempfile.TemporaryDirectory() as folder:
        profile.to_csv(Path(folder) / PROFILE_FILE, index=False)
        grid.to_csv(Path(folder) / QUANTILES_FILE, index=False)
        mlflow.log_artifacts(folder, artifact_path=REFERENCE_FOLDER)


def log_window_scores(scores: pd.DataFrame) -> None:
    """Log a classifier's ``window_scores`` with the active MLflow run
    (``reference/scores.parquet``), where ml_reference_scores and ml_challenger_scores read them."""
    missing = [column for column in SCORE_COLUMNS if column not in scores.columns]
    if missing:
        raise ValueError(f"window scores lack column(s) {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / SCORES_FILE
        scores[list(SCORE_COLUMNS)].to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=REFERENCE_FOLDER)


def log_training_inputs(train_window: pd.DataFrame, spec: FeatureSpec) -> None:
    """Log the training window's model inputs with the active MLflow run
    (``reference/training_inputs.parquet``: claim_id, rendering_npi and every input of
    ``spec``), the values ml_reference_profile counts in the reference bins; the providers
    cluster the window's claims (the reference's design effect)."""
    missing = [c for c in ("claim_id", PROVIDER, *spec.inputs) if c not in train_window.columns]
    if missing:
        raise ValueError(f"the training window lacks column(s) {', '.join(missing)}")
    inputs = train_window[["claim_id", PROVIDER, *spec.inputs]].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / INPUTS_FILE
        inputs.astype({"claim_id": "string", PROVIDER: "string"}).to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=REFERENCE_FOLDER)


def _row(
    model_name: str,
    version: str | None,
    run_id: str,
    flavour: str,
    metrics: Mapping[str, float],
    threshold: float,
    split: Split,
    group_id: str,
    trained_at: datetime,
) -> dict[str, Any]:
    return {
        "model_name": model_name,
        "model_version": version,
        "run_id": run_id,
        "flavour": flavour,
        "is_challenger": False,
        "roc_auc": metrics.get("roc_auc"),
        "pr_auc": metrics.get("pr_auc"),
        "precision_at_budget": metrics.get("precision_at_budget"),
        "recall_at_budget": metrics.get("recall_at_budget"),
        "brier": metrics.get("brier"),
        "gt_pr_auc": metrics.get("gt_pr_auc"),
        "gt_precision_at_budget": metrics.get("gt_precision_at_budget"),
        "gt_recall_at_budget": metrics.get("gt_recall_at_budget"),
        "flag_threshold": threshold,
        "validation_start": split.validation_start,
        "validation_end": split.validation_end,
        "training_group_id": group_id,
        "trained_at": trained_at,
    }


def train_and_register(
    features: pd.DataFrame,
    investigations: pd.DataFrame,
    settings: TrainingSettings,
    ground_truth: pd.DataFrame | None = None,
    spec: FeatureSpec | None = None,
    trained_at: datetime | None = None,
) -> pd.DataFrame:
    """Train every model, log and register them, set @challenger; one row per model."""
    spec = spec or load_feature_spec()
    validate_feature_frame(features, spec)
    features = settings.window.select(features)
    investigations = settings.window.known_outcomes(investigations)
    # Warehouses return rows in no fixed order (DuckDB here runs with preserve_insertion_order
    # off); CatBoost's permutations depend on row order, so sort for reproducible models.
    features = features.sort_values("claim_id", kind="stable", ignore_index=True)
    investigations = investigations.sort_values(
        ["claim_id", "investigation_closed_date"], kind="stable", ignore_index=True
    )
    trained_at = trained_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    config = settings.training
    budget = config.flag_budget
    group_id = uuid.uuid4().hex

    split = time_split(label_claims(features, investigations), config.validation_share)
    train_window, valid_window = claim_windows(features, split)
    # The windows hold every claim from here on: the frame they came from is as large as both
    # (4M claims at 10M lines, ~3 GB of pandas), so it goes now, not when training ends.
    del features
    train_matrix = feature_matrix(train_window, spec)
    valid_matrix = feature_matrix(valid_window, spec)
    example = valid_window[list(spec.inputs)].head(5)

    candidates = train_candidates(split, spec, config)
    challenger = best_candidate(candidates)
    autoencoder = TreeAutoencoder(settings.autoencoder).fit(train_matrix, spec)
    labelled_matrix = feature_matrix(split.valid, spec)
    # One fit, scored on the validation window and on its labelled claims.
    baseline_all = isolation_forest_baseline(
        train_matrix, pd.concat([valid_matrix, labelled_matrix], ignore_index=True), config.seed
    )
    baseline_scores, baseline_labelled = (
        baseline_all[: len(valid_matrix)],
        baseline_all[len(valid_matrix) :],
    )
    baseline_metrics = {
        **classification_metrics(
            split.valid["label"], baseline_labelled, budget, probabilities=False
        ),
        **_ground_truth_metrics(valid_window, baseline_scores, ground_truth, budget, False),
    }

    client = settings.mlflow.activate()
    rows: list[dict[str, Any]] = []
    challenger_version, challenger_threshold = "", float("nan")
    # One parent run per training, the candidates, the autoencoder and the baseline nested in
    # it (MLflow's UI shows them as one training).
    with mlflow.start_run(run_name=f"training {trained_at:%Y-%m-%d %H:%M}"):
        mlflow.set_tags({"training_group_id": group_id, "challenger_flavour": challenger.flavour})
        mlflow.log_params(
            {
                "train_claims": len(train_window),
                "training_cutoff": settings.window.cutoff.isoformat(sep=" ")
                if settings.window.cutoff
                else "",
                "training_warmup_days": settings.window.warmup_days,
                "labelled_train_claims": len(split.train),
                "labelled_validation_claims": len(split.valid),
                "validation_start": split.validation_start.isoformat(),
                "validation_end": split.validation_end.isoformat(),
            }
        )
        mlflow.log_metrics(
            {f"challenger_{k}": float(v) for k, v in challenger.metrics.items() if v is not None}
        )
        labelled_truth = split.valid["label"].to_numpy()
        for candidate in candidates:
            valid_scores = predict_probability(candidate.flavour, candidate.model, valid_matrix)
            threshold = flag_threshold(valid_scores, budget)
            metrics = {
                **candidate.metrics,
                **_ground_truth_metrics(valid_window, valid_scores, ground_truth, budget, True),
            }
            with mlflow.start_run(
                run_name=f"{candidate.flavour} {trained_at:%Y-%m-%d %H:%M}", nested=True
            ) as run:
                _log_common(spec, split, train_window, valid_window, group_id)
                mlflow.set_tag("flavour", candidate.flavour)
                mlflow.log_params(
                    {f"{candidate.flavour}.{k}": v for k, v in candidate.params.items()}
                )
                mlflow.log_params({f"config.{k}": v for k, v in config.to_dict().items()})
                mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
                mlflow.log_metrics({f"baseline_{k}": float(v) for k, v in baseline_metrics.items()})
                mlflow.log_metric("flag_threshold", threshold)
                mlflow.log_metric("train_seconds", candidate.train_seconds)
                train_scores = predict_probability(candidate.flavour, candidate.model, train_matrix)
                _log_profile(train_window, spec, train_scores, "fraud_probability")
                log_training_inputs(train_window, spec)
                # The reference window's scores (ml_reference_scores) and every claim up to the
                # end of the validation window with its flag (ml_challenger_disparate_impact).
                log_window_scores(
                    window_scores(
                        train_window["claim_id"],
                        train_scores,
                        valid_window["claim_id"],
                        valid_scores,
                        threshold,
                    )
                )
                values, _ = contributions(
                    candidate.flavour, candidate.model, valid_matrix.head(IMPORTANCE_ROWS)
                )
                log_classifier_figures(
                    labelled_truth,
                    candidate.valid_probabilities,
                    budget,
                    candidate.flavour,
                    mean_abs_contributions(values),
                )
                version = log_classifier(
                    candidate.flavour,
                    candidate.model,
                    spec,
                    threshold,
                    budget,
                    settings.mlflow.classifier_name,
                    example,
                )
            client.update_model_version(
                settings.mlflow.classifier_name,
                version,
                description=version_description(
                    candidate.flavour,
                    metrics,
                    len(train_window),
                    len(split.train),
                    (split.validation_start.isoformat(), split.validation_end.isoformat()),
                    threshold,
                    f"{trained_at:%Y-%m-%d %H:%M} UTC",
                ),
            )
            client.set_model_version_tag(
                settings.mlflow.classifier_name, version, "flavour", candidate.flavour
            )
            client.set_model_version_tag(
                settings.mlflow.classifier_name, version, "training_group_id", group_id
            )
            row = _row(
                settings.mlflow.classifier_name,
                version,
                run.info.run_id,
                candidate.flavour,
                metrics,
                threshold,
                split,
                group_id,
                trained_at,
            )
            if candidate is challenger:
                row["is_challenger"] = True
                challenger_version, challenger_threshold = version, threshold
            rows.append(row)

        ae_valid = autoencoder.score(valid_matrix)
        ae_labelled = autoencoder.score(labelled_matrix)
        ae_metrics = {
            **classification_metrics(
                split.valid["label"], ae_labelled, budget, probabilities=False
            ),
            **_ground_truth_metrics(valid_window, ae_valid, ground_truth, budget, False),
        }
        ae_threshold = flag_threshold(ae_valid, budget)
        with mlflow.start_run(
            run_name=f"tree_autoencoder {trained_at:%Y-%m-%d %H:%M}", nested=True
        ) as run:
            _log_common(spec, split, train_window, valid_window, group_id)
            mlflow.set_tag("flavour", "tree_autoencoder")
            mlflow.log_params(
                {f"autoencoder.{k}": v for k, v in settings.autoencoder.to_dict().items()}
            )
            mlflow.log_dict(
                {"scales": autoencoder.scales, "skipped": autoencoder.skipped_features},
                "autoencoder_scales.json",
            )
            mlflow.log_metrics({k: float(v) for k, v in ae_metrics.items() if v is not None})
            mlflow.log_metric("flag_threshold", ae_threshold)
            _log_profile(train_window, spec, autoencoder.score(train_matrix), "anomaly_score")
            ae_version = log_autoencoder(autoencoder, settings.mlflow.autoencoder_name, example)
        client.set_model_version_tag(
            settings.mlflow.autoencoder_name, ae_version, "training_group_id", group_id
        )
        rows.append(
            _row(
                settings.mlflow.autoencoder_name,
                ae_version,
                run.info.run_id,
                "tree_autoencoder",
                ae_metrics,
                ae_threshold,
                split,
                group_id,
                trained_at,
            )
        )

        # The baseline is scored and logged beside the others but never registered or promoted.
        with mlflow.start_run(
            run_name=f"isolation_forest {trained_at:%Y-%m-%d %H:%M}", nested=True
        ) as run:
            _log_common(spec, split, train_window, valid_window, group_id)
            mlflow.set_tag("flavour", "isolation_forest")
            mlflow.log_metrics({k: float(v) for k, v in baseline_metrics.items() if v is not None})
        rows.append(
            _row(
                "isolation_forest_baseline",
                None,
                run.info.run_id,
                "isolation_forest",
                baseline_metrics,
                float(flag_threshold(baseline_scores, budget)),
                split,
                group_id,
                trained_at,
            )
        )

    classifier = settings.mlflow.classifier_name
    for name, what in (
        (classifier, CLASSIFIER_DESCRIPTION),
        (settings.mlflow.autoencoder_name, AUTOENCODER_DESCRIPTION),
    ):
        client.update_registered_model(name, description=what)
    client.update_model_version(
        settings.mlflow.autoencoder_name,
        ae_version,
        description=(
            f"Tree autoencoder trained {trained_at:%Y-%m-%d %H:%M} UTC on "
            f"{autoencoder.n_fit_rows:,} claims before {split.validation_start.isoformat()}; "
            f"paired with classifier v{challenger_version} (training group {group_id})."
        ),
    )
    client.set_registered_model_alias(classifier, CHALLENGER, challenger_version)
    client.set_registered_model_alias(settings.mlflow.autoencoder_name, CHALLENGER, ae_version)
    client.set_model_version_tag(classifier, challenger_version, "autoencoder_version", ae_version)
    for key, value in {
        "validation_start": split.validation_start.isoformat(),
        "validation_end": split.validation_end.isoformat(),
        "flag_threshold": repr(challenger_threshold),
    }.items():
        client.set_model_version_tag(classifier, challenger_version, key, value)
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def wants_ground_truth(meta: Mapping[str, Any] | None) -> bool:
    """YAML meta renders Jinja to text: "True"/"true"/"1" mean yes."""
    value = (meta or {}).get("evaluate_ground_truth")
    return str(value).strip().lower() in ("true", "1", "yes")


def train_from_dbt(
    features: Any,
    investigations: Any,
    thresholds: Any,
    meta: Mapping[str, Any] | None,
    ground_truth: Any = None,
) -> pd.DataFrame:
    """The `ml_training_runs` model's one call: refs in, one row per model out."""
    flag_budget = thresholds_from_seed(to_pandas(thresholds))["flag_budget_share"]
    settings = TrainingSettings.from_mapping(meta, flag_budget)
    truth = to_pandas(ground_truth) if ground_truth is not None else None
    return train_and_register(to_pandas(features), to_pandas(investigations), settings, truth)
