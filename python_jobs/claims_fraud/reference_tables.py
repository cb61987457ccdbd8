"""The @champion's reference profile as warehouse tables, for the monitoring SQL.

Training logs the profile (bins of every model input and of the score on the training window)
and a fine grid of score quantiles as artifacts of the classifier's MLflow run. The dbt models
`ml_reference_profile` and `ml_reference_score_quantiles` copy them for the current champion,
keyed by model version, so a batch is always compared with the reference of the model that
scored it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from claims_fraud.tracking import CHAMPION, MlflowSettings, require_version_by_alias

PROFILE_FILE = "reference_profile.csv"
QUANTILES_FILE = "score_quantiles.csv"


def champion_reference(settings: MlflowSettings, file_name: str) -> pd.DataFrame:
    """One reference artifact of the @champion classifier's run, with its model coordinates."""
    client = settings.activate()
    version = require_version_by_alias(client, settings.classifier_name, CHAMPION)
    folder = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path="reference")
    frame = pd.read_csv(
        Path(folder) / file_name, dtype={"level": "string"}, keep_default_na=False, na_values=[""]
    )
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
