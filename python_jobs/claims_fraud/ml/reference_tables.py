"""What training logged beside a classifier, as warehouse tables for the SQL that needs it.

Training logs with each classifier's MLflow run (folder ``reference/``) the bins of the
monitoring reference profile (every model input and the score, chosen on the training window),
a fine grid of score quantiles, and the classifier's scores on every claim of its training and
validation windows (``scores.parquet``: claim_id, scoring_window, fraud_probability,
is_flagged). The dbt Python models copy them, keyed by model version:

- ``ml_reference_bins``, ``ml_reference_scores`` (training window, with the model inputs
  training saw: ``training_inputs.parquet``) and
  ``ml_reference_score_quantiles`` for the current @champion: ``ml_reference_profile`` (SQL)
  counts the training window in the bins, so a batch is always compared with the reference of
  the model that scored it, binned by the same SQL;
- ``ml_validation_scores`` for the current @champion: its scores and flags on its validation
  window (claims it was not trained on), which ``ml_score_calibration`` (SQL) turns into the
  calibration the monitoring's estimated performance reads;
- ``ml_challenger_scores`` for the current @challenger: ``ml_challenger_disparate_impact`` (SQL)
  computes the disparate impact of its flags that the promotion gate reads.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from claims_fraud.ml.profile import (
    BIN_COLUMNS,
    INPUTS_FILE,
    PROFILE_FILE,
    QUANTILES_FILE,
    REFERENCE_FOLDER,
    SCORE_COLUMNS,
    SCORES_FILE,
    TRAINING_WINDOW,
    VALIDATION_WINDOW,
)
from claims_fraud.ml.tracking import (
    CHALLENGER,
    CHAMPION,
    BrokenModelError,
    MlflowSettings,
    require_version_by_alias,
)

REFERENCE_FILES = (PROFILE_FILE, QUANTILES_FILE, SCORES_FILE, INPUTS_FILE)


def read_reference(
    client: MlflowClient, version: ModelVersion, file_name: str, alias: str = CHAMPION
) -> pd.DataFrame:
    """One reference artifact of a classifier version's run. Missing, unreadable or empty, it
    raises BrokenModelError naming the artifact: monitoring cannot compare a batch without it."""
    path = f"{REFERENCE_FOLDER}/{file_name}"
    try:
        local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=path)
        if file_name.endswith(".parquet"):
            frame = pd.read_parquet(local)
        else:
            frame = pd.read_csv(
                local, dtype={"level": "string"}, keep_default_na=False, na_values=[""]
            )
    # A missing file (MlflowException, OSError) or an unreadable one (pandas' and pyarrow's).
    except Exception as exc:
        raise _broken_reference(client, version, alias, path, exc) from exc
    if frame.empty:
        raise _broken_reference(client, version, alias, path, "it has no rows")
    return frame


def check_reference(client: MlflowClient, version: ModelVersion, alias: str = CHAMPION) -> None:
    """Every reference artifact of the version's run exists and reads (see read_reference)."""
    for file_name in REFERENCE_FILES:
        read_reference(client, version, file_name, alias)


def _broken_reference(
    client: MlflowClient, version: ModelVersion, alias: str, path: str, cause: object
) -> BrokenModelError:
    try:
        location = f"{client.get_run(version.run_id).info.artifact_uri}/{path}"
    except Exception:  # the run itself is gone: name it the way MLflow would
        location = f"runs:/{version.run_id}/{path}"
    reason = f"{type(cause).__name__}: {cause}" if isinstance(cause, Exception) else str(cause)
    return BrokenModelError(
        version.name,
        str(version.version),
        alias,
        f"the reference artifact {location} (logged by run {version.run_id})",
        reason,
    )


def reference_of(settings: MlflowSettings, alias: str, file_name: str) -> pd.DataFrame:
    """One reference artifact of the classifier's run that ``alias`` points at, with its model
    coordinates (model_name, model_version, run_id) in front."""
    client = settings.activate()
    version = require_version_by_alias(client, settings.classifier_name, alias)
    frame = read_reference(client, version, file_name, alias)
    frame.insert(0, "run_id", str(version.run_id))
    frame.insert(0, "model_version", str(version.version))
    frame.insert(0, "model_name", settings.classifier_name)
    return frame


def _settings(meta: dict[str, Any] | None) -> MlflowSettings:
    return MlflowSettings.from_mapping(dict(meta or {}).get("mlflow") or {})


def reference_bins_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    """ml_reference_bins: the @champion's bins (``BIN_COLUMNS``)."""
    frame = reference_of(_settings(meta), CHAMPION, PROFILE_FILE)
    return frame[["model_name", "model_version", "run_id", *BIN_COLUMNS]]


def reference_scores_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    """ml_reference_scores: the @champion's scores on its training window, with the model
    inputs of each claim as training saw them (``training_inputs.parquet``)."""
    settings = _settings(meta)
    frame = reference_of(settings, CHAMPION, SCORES_FILE)
    frame = frame[frame["scoring_window"] == TRAINING_WINDOW]
    frame = frame[["model_name", "model_version", "run_id", "claim_id", "fraud_probability"]]
    inputs = reference_of(settings, CHAMPION, INPUTS_FILE).drop(
        columns=["model_name", "model_version", "run_id"]
    )
    merged = frame.merge(inputs, on="claim_id", how="left", validate="one_to_one")
    return merged.reset_index(drop=True)


def validation_scores_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    """ml_validation_scores: the @champion's scores and flags on its validation window."""
    frame = reference_of(_settings(meta), CHAMPION, SCORES_FILE)
    frame = frame[frame["scoring_window"] == VALIDATION_WINDOW]
    columns = ["model_name", "model_version", "run_id", "claim_id", "fraud_probability"]
    return frame[[*columns, "is_flagged"]].reset_index(drop=True)


def score_quantiles_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    """ml_reference_score_quantiles: the @champion's fine grid of score quantiles."""
    return reference_of(_settings(meta), CHAMPION, QUANTILES_FILE)


def challenger_scores_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    """ml_challenger_scores: the @challenger's scores and flags on its training and validation
    windows (every claim up to the end of its validation window)."""
    frame = reference_of(_settings(meta), CHALLENGER, SCORES_FILE)
    return frame[["model_name", "model_version", "run_id", *SCORE_COLUMNS]].reset_index(drop=True)
