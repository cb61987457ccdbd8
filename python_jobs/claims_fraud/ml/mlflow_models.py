"""Logging the registered models: MLflow models-from-code, self-contained.

Each registered version is the file ``claims_fraud/portable_model.py`` (the model's code, which
imports nothing from this project) plus one artifact folder: the fitted booster(s) in the
libraries' own formats and ``model.json`` (inputs by type, flag threshold, the autoencoder's
scales). Its ``requirements.txt`` pins what that code imports, at the versions trained with, so
``mlflow models serve``, Databricks Model Serving or any consumer can load it in an environment
that has only those requirements. A plain XGBoost or CatBoost pyfunc would return 0/1 labels;
this one returns the fraud probability (classifier) or the anomaly score (autoencoder).
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from claims_fraud import portable_model
from claims_fraud.features.spec import FeatureSpec
from claims_fraud.ml.autoencoder import TreeAutoencoder
from claims_fraud.portable_model import (
    ARTIFACT,
    FraudModel,
    save_autoencoder,
    save_classifier,
)

# What portable_model.py imports at load time, pinned to the versions the model was trained
# with (pyarrow: XGBoost hands its categories over as Arrow arrays).
MODEL_REQUIREMENTS = ("mlflow", "numpy", "pandas", "pyarrow", "xgboost", "catboost")


def requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def log_classifier(
    flavour: str,
    model: Any,
    spec: FeatureSpec,
    flag_threshold: float,
    flag_budget: float,
    registered_name: str,
    example: pd.DataFrame,
) -> str:
    """Log and register a fitted XGBoost or CatBoost classifier; returns the new version."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_classifier(
            Path(scratch) / ARTIFACT, flavour, model, spec.types, flag_threshold, flag_budget
        )
        return _log_and_register(folder, registered_name, example)


def log_autoencoder(
    autoencoder: TreeAutoencoder, registered_name: str, example: pd.DataFrame
) -> str:
    """Log and register a fitted tree autoencoder; returns the new version."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_autoencoder(Path(scratch) / ARTIFACT, autoencoder.scorer())
        return _log_and_register(folder, registered_name, example)


def _log_and_register(folder: Path, registered_name: str, example: pd.DataFrame) -> str:
    """The model folder with portable_model.py as its code, a signature and an input example
    (what the folder's model, loaded as the registry will load it, predicts on the example)."""
    loaded = FraudModel.from_folder(folder)
    signature = infer_signature(example, loaded.predict(None, example))
    with _without_project_lock():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=portable_model.__file__,
            artifacts={ARTIFACT: str(folder)},
            signature=signature,
            input_example=example,
            pip_requirements=requirements(),
            registered_model_name=registered_name,
        )
    return str(info.registered_model_version)


@contextmanager
def _without_project_lock() -> Iterator[None]:
    """MLflow copies the uv.lock and pyproject.toml of the project it runs in into a model's
    artifacts (the whole stack: dbt, Spark, ...); the model declares its own requirements, so
    they stay out (MLFLOW_LOG_UV_FILES=false, restored afterwards)."""
    saved = os.environ.get("MLFLOW_LOG_UV_FILES")
    os.environ["MLFLOW_LOG_UV_FILES"] = "false"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_LOG_UV_FILES", None)
        else:
            os.environ["MLFLOW_LOG_UV_FILES"] = saved
