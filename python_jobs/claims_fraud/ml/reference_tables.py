"""The @champion's reference profile as warehouse tables, for the monitoring SQL.

Training logs the profile (bins of every model input and of the score on the training window)
and a fine grid of score quantiles as artifacts of the classifier's MLflow run. The dbt models
`ml_reference_profile` and `ml_reference_score_quantiles` copy them for the current champion,
keyed by model version, so a batch is always compared with the reference of the model that
scored it.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from claims_fraud.ml.tracking import (
    CHAMPION,
    BrokenModelError,
    MlflowSettings,
    require_version_by_alias,
)

REFERENCE_FOLDER = "reference"
PROFILE_FILE = "reference_profile.csv"
QUANTILES_FILE = "score_quantiles.csv"
REFERENCE_FILES = (PROFILE_FILE, QUANTILES_FILE)


def read_reference(
    client: MlflowClient, version: ModelVersion, file_name: str, alias: str = CHAMPION
) -> pd.DataFrame:
    """One reference artifact of a classifier version's run. Missing, unreadable or empty, it
    raises BrokenModelError naming the artifact: monitoring cannot compare a batch without it."""
    path = f"{REFERENCE_FOLDER}/{file_name}"
    try:
        local = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=path)
        frame = pd.read_csv(local, dtype={"level": "string"}, keep_default_na=False, na_values=[""])
    # A missing file (MlflowException, OSError) or an unreadable one (pandas' ValueErrors).
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


def champion_reference(settings: MlflowSettings, file_name: str) -> pd.DataFrame:
    """One reference artifact of the @champion classifier's run, with its model coordinates."""
    client = settings.activate()
    version = require_version_by_alias(client, settings.classifier_name, CHAMPION)
    frame = read_reference(client, version, file_name)
    frame.insert(0, "run_id", str(version.run_id))
    frame.insert(0, "model_version", str(version.version))
    frame.insert(0, "model_name", settings.classifier_name)
    return frame


def reference_profile_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    settings = MlflowSettings.from_mapping(dict(meta or {}).get("mlflow") or {})
    return champion_reference(settings, PROFILE_FILE)


def score_quantiles_from_dbt(meta: dict[str, Any] | None) -> pd.DataFrame:
    settings = MlflowSettings.from_mapping(dict(meta or {}).get("mlflow") or {})
    return champion_reference(settings, QUANTILES_FILE)
