"""MLflow pyfunc wrappers: what the registry stores and what scoring loads.

A plain XGBoost or CatBoost pyfunc returns 0/1 labels; `FraudClassifier.predict` returns the
fraud probability. Each wrapper carries the feature spec it was trained on, so a frame with
other features is refused with a message that names the columns, before anything is written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from claims_fraud.features.spec import FeatureSchemaError, FeatureSpec, feature_matrix
from claims_fraud.ml.autoencoder import TreeAutoencoder
from claims_fraud.ml.train import predict_probability


def check_model_features(model_features: tuple[str, ...], frame: pd.DataFrame, what: str) -> None:
    """Refuse a frame that lacks features the model was trained on."""
    missing = [column for column in model_features if column not in frame.columns]
    if missing:
        raise FeatureSchemaError(
            f"{what} was trained on feature(s) missing from the frame to score: "
            f"{', '.join(missing)}. Retrain it on the current fct_claim_features "
            "(dbt build --selector train) or restore the columns."
        )


class FraudClassifier(PythonModel):
    """A supervised candidate (XGBoost or CatBoost); predict -> fraud probability in [0, 1]."""

    def __init__(
        self,
        flavour: str,
        model: object,
        spec: FeatureSpec,
        flag_threshold: float,
        flag_budget: float,
    ) -> None:
        self.flavour = flavour
        self.model = model
        self.spec = spec
        self.flag_threshold = float(flag_threshold)
        self.flag_budget = float(flag_budget)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        check_model_features(self.spec.inputs, model_input, f"the {self.flavour} classifier")
        matrix = feature_matrix(model_input, self.spec)
        return predict_probability(self.flavour, self.model, matrix)


class AnomalyScorer(PythonModel):
    """The tree autoencoder; predict -> anomaly score (0 = perfectly reconstructed)."""

    def __init__(self, autoencoder: TreeAutoencoder, spec: FeatureSpec) -> None:
        self.autoencoder = autoencoder
        self.spec = spec

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        check_model_features(self.spec.inputs, model_input, "the tree autoencoder")
        return np.asarray(self.autoencoder.score(feature_matrix(model_input, self.spec)))
