"""MLflow settings: where runs are tracked and models registered, per environment.

Locally: a sqlite tracking store and a file artifact root under the git-ignored `.local/mlflow`,
and the workspace-less model registry in the same sqlite file. On Databricks: the workspace
tracking server (`databricks`) and the Unity Catalog registry (`databricks-uc`), with model
names `<catalog>.<schema>.claims_fraud_classifier` and `..._autoencoder`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

CHALLENGER = "challenger"
CHAMPION = "champion"
CLASSIFIER_MODEL = "claims_fraud_classifier"
AUTOENCODER_MODEL = "claims_fraud_autoencoder"
EXPERIMENT_NAME = "claims_fraud"
DEFAULT_LOCAL_DIR = Path(".local/mlflow")


class NoModelWithAliasError(LookupError):
    """The registry has no version of a model under the alias asked for."""


@dataclass(frozen=True)
class MlflowSettings:
    """Everything a job needs to talk to MLflow; build with `local()` or `from_mapping()`."""

    tracking_uri: str
    registry_uri: str
    experiment_name: str
    artifact_location: str | None
    classifier_name: str
    autoencoder_name: str

    @classmethod
    def local(cls, mlflow_dir: Path | None = None) -> MlflowSettings:
        """sqlite tracking + registry and file artifacts under `mlflow_dir` (absolute paths)."""
        root = mlflow_dir or Path(os.environ.get("CLAIMS_FRAUD_MLFLOW_DIR", DEFAULT_LOCAL_DIR))
        root = root.resolve()
        uri = f"sqlite:///{root / 'mlflow.db'}"
        return cls(
            tracking_uri=uri,
            registry_uri=uri,
            experiment_name=EXPERIMENT_NAME,
            artifact_location=(root / "artifacts").as_uri(),
            classifier_name=CLASSIFIER_MODEL,
            autoencoder_name=AUTOENCODER_MODEL,
        )

    @classmethod
    def databricks(cls, catalog: str, schema: str, experiment_path: str) -> MlflowSettings:
        """Workspace tracking and the Unity Catalog registry."""
        return cls(
            tracking_uri="databricks",
            registry_uri="databricks-uc",
            experiment_name=experiment_path,
            artifact_location=None,
            classifier_name=f"{catalog}.{schema}.{CLASSIFIER_MODEL}",
            autoencoder_name=f"{catalog}.{schema}.{AUTOENCODER_MODEL}",
        )

    @classmethod
    def from_mapping(cls, values: dict[str, str | None]) -> MlflowSettings:
        """From dbt model meta / job parameters: `tracking: local|databricks` and the names."""
        if (values.get("tracking") or "local") == "databricks":
            return cls.databricks(
                catalog=_required(values, "catalog"),
                schema=_required(values, "schema"),
                experiment_path=_required(values, "experiment_path"),
            )
        mlflow_dir = values.get("mlflow_dir")
        return cls.local(Path(mlflow_dir) if mlflow_dir else None)

    def activate(self) -> MlflowClient:
        """Point mlflow at this store, create the experiment if missing, return a client."""
        if self.artifact_location and self.artifact_location.startswith("file:"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)
        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        if client.get_experiment_by_name(self.experiment_name) is None:
            client.create_experiment(self.experiment_name, artifact_location=self.artifact_location)
        mlflow.set_experiment(self.experiment_name)
        return client


def _required(values: dict[str, str | None], key: str) -> str:
    value = values.get(key)
    if not value:
        raise ValueError(f"MLflow setting {key!r} is required for Databricks tracking")
    return value


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The model version under an alias, or None when the model or the alias does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def require_version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion:
    version = version_by_alias(client, name, alias)
    if version is None:
        raise NoModelWithAliasError(
            f"no version of model {name} has the alias @{alias}. Train one with "
            "`make train` (dbt build --selector train) and promote it with "
            "`claims-fraud promote`."
        )
    return version
