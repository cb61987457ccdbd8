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
from typing import Any

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
RETRAIN_HINT = (
    "Train and promote a new champion: `make run TRAIN=1`, or `dbt build --selector train` "
    "then `claims-fraud promote`."
)


class NoModelWithAliasError(LookupError):
    """The registry has no version of a model under the alias asked for."""


class BrokenModelError(RuntimeError):
    """A model version is in the registry under an alias, but an artifact it needs (the model
    itself, or the reference profile logged with its run) is missing or cannot be loaded."""

    def __init__(self, name: str, version: str, alias: str, artifact: str, cause: str) -> None:
        self.name, self.version, self.alias, self.artifact = name, version, alias, artifact
        super().__init__(
            f"@{alias} {name} v{version} is broken: {artifact} cannot be loaded ({cause}). "
            f"{RETRAIN_HINT}"
        )


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


def model_artifact_uri(client: MlflowClient, version: ModelVersion) -> str:
    """Where the registry keeps a version's model files (what a broken-model message names)."""
    try:
        return str(client.get_model_version_download_uri(version.name, version.version))
    except MlflowException:
        return str(version.source)


def load_version(client: MlflowClient, version: ModelVersion, alias: str) -> Any:
    """The loaded pyfunc model of a registry version (by version number); files that are
    missing or do not load raise BrokenModelError naming the version, the alias it was
    reached by, and the path."""
    try:
        return mlflow.pyfunc.load_model(f"models:/{version.name}/{version.version}")
    # Anything can come out of a missing folder or a corrupt file (MlflowException, OSError,
    # XGBoostError, EOFError, AttributeError, ...): each means the same, the model is broken.
    except Exception as exc:
        artifact = f"the model at {model_artifact_uri(client, version)}"
        raise BrokenModelError(
            version.name, str(version.version), alias, artifact, f"{type(exc).__name__}: {exc}"
        ) from exc


def load_version_by_alias(client: MlflowClient, name: str, alias: str) -> tuple[ModelVersion, Any]:
    """The version under an alias and its loaded pyfunc model (by version number, so the model
    is the version the lineage names even if the alias moves meanwhile). A missing alias raises
    NoModelWithAliasError; model files that are missing or do not load raise BrokenModelError."""
    version = require_version_by_alias(client, name, alias)
    return version, load_version(client, version, alias)


def set_champion(
    client: MlflowClient,
    settings: MlflowSettings,
    classifier_version: str,
    autoencoder_version: str | None,
) -> None:
    """Move @champion to a classifier version and the autoencoder trained with it (promote,
    rollback)."""
    client.set_registered_model_alias(settings.classifier_name, CHAMPION, classifier_version)
    if autoencoder_version:
        client.set_registered_model_alias(settings.autoencoder_name, CHAMPION, autoencoder_version)
