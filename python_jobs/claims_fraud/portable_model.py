"""The fraud models as the registry stores them: self-contained MLflow models-from-code.

MLflow logs *this file* as a registered model's code (``python_model=<this file>``) together
with one artifact, a folder that holds the fitted boosters and ``model.json`` (which kind of
model, its inputs by type, the flag threshold, the autoencoder's scales). Loaded anywhere
(``mlflow.pyfunc.load_model``, ``mlflow models serve``, a Databricks Model Serving endpoint),
the model needs only the requirements it declares (mlflow, numpy, pandas, xgboost, catboost):
this module imports nothing from ``claims_fraud`` and must never do so (an import-linter
contract says so, and ``integration/test_portable_model.py`` loads and serves a model in a
virtual environment without the project). The project itself calls the same functions
(``claims_fraud.features.spec``, ``claims_fraud.ml.train`` and ``claims_fraud.ml.autoencoder``
import them from here), so there is one implementation of the model inputs, the probability,
the explanations and the anomaly score.

- ``FraudModel(kind="classifier")``: ``predict`` -> P(fraud) per row (XGBoost or CatBoost, the
  flavour the training picked); ``explain`` -> each row's top feature contributions, TreeSHAP
  computed by the libraries themselves (XGBoost ``pred_contribs``, CatBoost ``ShapValues``), in
  the margin (log-odds) space, so contributions plus the base value equal the model's margin.
- ``FraudModel(kind="autoencoder")``: ``predict`` -> the tree autoencoder's anomaly score
  (``claims_fraud.ml.autoencoder`` explains the formula and fits it).
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


def _require(package: str) -> Any:
    """Import a package the model needs, or say which and how to install them all."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(
            f"the claims fraud model needs the package {package} ({exc}): install the "
            "model's own requirements.txt (mlflow.pyfunc.get_model_dependencies(model_uri) "
            "gives its path; then pip install -r it)"
        ) from exc


xgb = _require("xgboost")
_catboost = _require("catboost")
CatBoostClassifier, Pool = _catboost.CatBoostClassifier, _catboost.Pool

FEATURE_TYPES = ("numeric", "boolean", "categorical")
FLAVOURS = ("xgboost", "catboost")
CATBOOST_MISSING_LEVEL = "NA"
MODEL_FILE = "model.json"
ARTIFACT = "model"  # the key of the model folder in the pyfunc's artifacts
FORMAT_VERSION = 1


class FeatureSchemaError(ValueError):
    """A feature frame or a model does not match the expected feature columns."""


class ModelArtifactError(RuntimeError):
    """A model folder is missing a file or holds a model.json this code cannot read."""


# Run by MLflow from a model artifact where the project is installed: raise the project's
# classes, so its `except` clauses match (a consumer without the project keeps those above).
if __name__ != "claims_fraud.portable_model":
    with contextlib.suppress(ImportError):
        from claims_fraud.portable_model import (  # type: ignore[no-redef]
            FeatureSchemaError,
            ModelArtifactError,
        )


# --- model inputs -------------------------------------------------------------------------------


def check_inputs(frame: pd.DataFrame, types: Mapping[str, str], table: str) -> None:
    """Fail, naming the column, when a model input is missing or has the wrong type."""
    missing = [column for column in types if column not in frame.columns]
    if missing:
        raise FeatureSchemaError(f"{table} is missing feature column(s): {', '.join(missing)}")
    for column, kind in types.items():
        dtype = frame[column].dtype
        if kind == "numeric":
            is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
                dtype
            )
            if not (is_number or _is_decimal_object(frame[column])):
                raise FeatureSchemaError(f"{table}.{column} must be numeric, got {dtype}")
        elif kind == "boolean":
            if not (pd.api.types.is_bool_dtype(dtype) or _is_boolean_object(frame[column])):
                raise FeatureSchemaError(f"{table}.{column} must be boolean, got {dtype}")
        elif kind == "categorical":
            if not (
                pd.api.types.is_string_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype)
                or pd.api.types.is_object_dtype(dtype)
            ):
                raise FeatureSchemaError(
                    f"{table}.{column} must be text (categorical), got {dtype}"
                )
        else:
            raise FeatureSchemaError(f"{column}: unknown feature type {kind!r}")


def _is_decimal_object(series: pd.Series) -> bool:
    """DECIMAL columns arrive as Python Decimal objects from some engines (and an all-null
    column as None objects from JSON)."""
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    sample = series.dropna().head(100)
    return len(sample) == 0 or all(
        isinstance(value, (int, float, np.number)) or type(value).__name__ == "Decimal"
        for value in sample
    )


def _is_boolean_object(series: pd.Series) -> bool:
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    return bool(series.dropna().map(lambda value: isinstance(value, (bool, np.bool_))).all())


def input_matrix(frame: pd.DataFrame, types: Mapping[str, str], table: str) -> pd.DataFrame:
    """Model inputs only, in ``types`` order, typed for tree models: numeric and boolean as
    float64 (NaN for nulls), categorical as pandas category. Checks the frame first."""
    check_inputs(frame, types, table)
    matrix = pd.DataFrame(index=frame.index)
    for column, kind in types.items():
        if kind == "numeric":
            matrix[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        elif kind == "boolean":
            matrix[column] = frame[column].astype("float64")
        else:
            matrix[column] = frame[column].astype("string").astype("category")
    return matrix


def as_training_categories(values: pd.Series, levels: Sequence[str]) -> pd.Categorical:
    """``values`` as text cast to the categorical with exactly ``levels``: null and unseen
    values become NaN (code -1)."""
    text = values.astype(object)
    text = text.where(text.isna(), text.map(str))
    known = text.where(text.isin(list(levels)))
    return pd.Categorical(known, categories=list(levels))


def align_categories(frame: pd.DataFrame, categories: Mapping[str, list[str]]) -> pd.DataFrame:
    """Re-cast categoricals to the training categories: null and unseen levels become NaN (an
    unseen level goes down the tree's missing-value branch instead of failing)."""
    frame = frame.copy()
    for column, levels in categories.items():
        frame[column] = as_training_categories(frame[column], levels)
    return frame


def catboost_frame(frame: pd.DataFrame, cat_columns: Sequence[str]) -> pd.DataFrame:
    """Categoricals as plain str with null -> 'NA' (CatBoost rejects NaN in cat features)."""
    frame = frame.copy()
    for column in cat_columns:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), CATBOOST_MISSING_LEVEL).astype(str)
    return frame


# --- the classifier -----------------------------------------------------------------------------


def xgboost_categories(model: Any) -> dict[str, list[str]]:
    """Training categories per categorical column, as stored in the booster."""
    categories = model.get_booster().get_categories(export_to_arrow=True).to_arrow()
    return {name: values.to_pylist() for name, values in categories if values is not None}


def model_columns(flavour: str, model: Any) -> list[str]:
    if flavour == "xgboost":
        return list(model.get_booster().feature_names)
    if flavour == "catboost":
        return list(model.feature_names_)
    raise ValueError(f"unknown flavour {flavour!r}, expected one of {', '.join(FLAVOURS)}")


def _model_inputs(flavour: str, model: Any, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
    columns = model_columns(flavour, model)
    missing = [column for column in columns if column not in X.columns]
    if missing:
        raise ValueError(f"{flavour} model needs missing column(s): {', '.join(missing)}")
    return X[columns]


def _catboost_pool(model: Any, inputs: pd.DataFrame) -> Pool:
    columns = list(inputs.columns)
    cat_columns = [columns[i] for i in model.get_cat_feature_indices()]
    return Pool(catboost_frame(inputs, cat_columns), cat_features=cat_columns)


def predict_probability(flavour: str, model: Any, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
    """P(fraud) (class 1) for each row of an ``input_matrix`` frame, for either flavour.

    Columns are selected (and ordered) by the model's own feature names, so extra columns are
    ignored and a missing one raises. XGBoost: categoricals are re-cast to the training
    categories (unseen -> missing). CatBoost: categoricals become str with null -> 'NA'.
    """
    inputs = _model_inputs(flavour, model, X)
    if flavour == "xgboost":
        return model.predict_proba(align_categories(inputs, xgboost_categories(model)))[:, 1]
    return model.predict_proba(_catboost_pool(model, inputs))[:, 1]


def margin(flavour: str, model: Any, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
    """The model's raw output (log-odds of fraud) per row: what the contributions add up to."""
    inputs = _model_inputs(flavour, model, X)
    if flavour == "xgboost":
        aligned = align_categories(inputs, xgboost_categories(model))
        return np.asarray(model.predict(aligned, output_margin=True), dtype="float64")
    return np.asarray(
        model.predict(_catboost_pool(model, inputs), prediction_type="RawFormulaVal"),
        dtype="float64",
    )


def contributions(
    flavour: str,
    model: Any,
    X: pd.DataFrame,  # noqa: N803
) -> tuple[pd.DataFrame, np.ndarray]:
    """TreeSHAP contributions per row and model input (log-odds), and each row's base value;
    ``contributions.sum(axis=1) + base == margin(...)``. Computed by the libraries (XGBoost
    ``pred_contribs``, CatBoost ``ShapValues``): exact for trees, no sampling."""
    inputs = _model_inputs(flavour, model, X)
    if inputs.empty:
        return pd.DataFrame(columns=inputs.columns, dtype="float64"), np.zeros(0)
    if flavour == "xgboost":
        aligned = align_categories(inputs, xgboost_categories(model))
        matrix = xgb.DMatrix(aligned, enable_categorical=True)
        # the trees predict_proba uses: up to the early-stopping round, as the sklearn API does
        best = getattr(model, "best_iteration", None)
        trees = (0, 0) if best is None else (0, int(best) + 1)
        values = model.get_booster().predict(matrix, pred_contribs=True, iteration_range=trees)
    else:
        values = model.get_feature_importance(_catboost_pool(model, inputs), type="ShapValues")
    values = np.asarray(values, dtype="float64")
    frame = pd.DataFrame(values[:, :-1], columns=inputs.columns, index=X.index)
    return frame, values[:, -1]


def top_contributions(values: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """The ``top_k`` largest positive contributions of each row (what pushed its score up),
    as long rows (row, rank, feature, contribution); ties go to the earlier input. A row with
    fewer positive contributions gets fewer rows."""
    if top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
    matrix = values.to_numpy(dtype="float64")
    # stable descending order: negate, then a stable argsort
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :top_k]
    rows = np.repeat(np.arange(len(values)), order.shape[1])
    columns = order.reshape(-1)
    found = matrix[rows, columns]
    keep = found > 0
    return pd.DataFrame(
        {
            "row": rows[keep],
            "rank": np.tile(np.arange(1, order.shape[1] + 1), len(values))[keep],
            "feature": np.asarray(values.columns, dtype=object)[columns[keep]],
            "contribution": found[keep],
        }
    )


# --- the autoencoder's scoring ------------------------------------------------------------------


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """sign(x) * log1p(|x|): monotone, 0 at 0, logarithmic in both tails."""
    return np.sign(values) * np.log1p(np.abs(values))


def as_float(series: pd.Series) -> pd.Series:
    """float64 with NaN for null; booleans become 1.0/0.0, decimals floats."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype):
        return series.astype("float64")
    return pd.to_numeric(series, errors="raise").astype("float64")


@dataclass(frozen=True)
class FeatureReconstructor:
    """The booster that predicts one input from the others."""

    target: str
    kind: str  # "numeric" | "boolean" | "categorical"
    booster: xgb.Booster
    n_classes: int  # 0 for regressors


# Rows the autoencoder scores at a time (ReconstructionScorer.score).
SCORE_CHUNK_ROWS = 200_000


@dataclass
class ReconstructionScorer:
    """The fitted tree autoencoder, as scoring needs it (``claims_fraud.ml.autoencoder`` fits
    it and documents the formula): e_ij = min((r_ij / s_j)^2, cap), score = mean_j e_ij."""

    columns: tuple[str, ...]
    types: dict[str, str]
    categories: dict[str, list[str]]
    scales: dict[str, float]
    models: dict[str, FeatureReconstructor]
    cap: float
    log_numeric_targets: bool
    threads: int = 2

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """Inputs typed for XGBoost: numeric/boolean float64 (NaN for null; bools -> 1.0/0.0),
        categoricals re-cast to the training levels (null and unseen -> NaN)."""
        missing = [column for column in self.columns if column not in X.columns]
        if missing:
            raise ValueError(f"autoencoder input is missing column(s): {', '.join(missing)}")
        prepared = pd.DataFrame(index=X.index)
        for column in self.columns:
            if self.types[column] == "categorical":
                prepared[column] = as_training_categories(X[column], self.categories[column])
            else:
                prepared[column] = as_float(X[column])
        return prepared

    def dmatrix(self, prepared: pd.DataFrame, target: str) -> xgb.DMatrix:
        inputs = prepared[[column for column in self.columns if column != target]]
        return xgb.DMatrix(inputs, enable_categorical=True, nthread=1)

    def target(self, prepared: pd.DataFrame, column: str) -> np.ndarray:
        """The regression/classification target of ``column`` (NaN where null)."""
        if self.types[column] == "categorical":
            codes = prepared[column].cat.codes.to_numpy()
            return np.where(codes < 0, np.nan, codes).astype("float64")
        values = prepared[column].to_numpy(dtype="float64")
        if self.types[column] == "numeric" and self.log_numeric_targets:
            return signed_log1p(values)
        return values

    @staticmethod
    def residuals(
        model: FeatureReconstructor, matrix: xgb.DMatrix, target: np.ndarray
    ) -> np.ndarray:
        """observed - predicted (numeric, boolean) or 1 - P(observed level) (categorical)."""
        predicted = model.booster.predict(matrix)
        if model.kind != "categorical":
            return target - predicted
        if model.n_classes == 2:
            predicted = np.column_stack([1.0 - predicted, predicted])
        else:  # multi:softprob is (rows, classes), but flat for 0 rows: make it 2-D always
            predicted = predicted.reshape(target.size, model.n_classes)
        observed = np.nan_to_num(target, nan=0.0).astype("int64")
        residual = 1.0 - predicted[np.arange(target.size), observed]
        return np.where(np.isnan(target), np.nan, residual)

    def _unseen(self, X: pd.DataFrame, column: str) -> np.ndarray:  # noqa: N803
        """Rows whose categorical value is non-null but not a training level."""
        values = X[column].astype(object)
        text = values.where(values.isna(), values.map(str))
        return text.notna().to_numpy() & ~text.isin(self.categories[column]).to_numpy()

    def feature_errors(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """e_ij per used feature (0 where x_ij is null), indexed like ``X``."""
        if not self.models:
            raise ValueError("TreeAutoencoder is not fitted (or every feature was skipped)")
        prepared = self.prepare(X)
        columns = list(self.models)
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            errors = pool.map(partial(self._feature_error, X, prepared), columns)
            return pd.DataFrame(dict(zip(columns, errors, strict=True)), index=X.index)

    def _feature_error(self, X: pd.DataFrame, prepared: pd.DataFrame, column: str) -> np.ndarray:  # noqa: N803
        model = self.models[column]
        target = self.target(prepared, column)
        residual = self.residuals(model, self.dmatrix(prepared, column), target)
        if model.kind == "categorical":
            # An unseen level is maximal surprise (its cast to the training levels is NaN).
            residual = np.where(self._unseen(X, column), 1.0, residual)
        error = np.minimum((residual / self.scales[column]) ** 2, self.cap)
        return np.where(np.isnan(error), 0.0, error)

    def score(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """score_i = mean over the used features of e_ij; ``SCORE_CHUNK_ROWS`` rows at a time
        (a row's score depends on the row alone): the per-feature reconstructions of millions
        of claims (training scores its whole training window) would otherwise add gigabytes."""
        chunks = [
            self.feature_errors(X.iloc[start : start + SCORE_CHUNK_ROWS]).to_numpy().mean(axis=1)
            for start in range(0, max(len(X), 1), SCORE_CHUNK_ROWS)
        ]
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    # --- files ---------------------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, Any]:
        """Each booster as UBJSON beside model.json; returns the JSON's autoencoder part."""
        boosters = {}
        for index, (column, model) in enumerate(self.models.items()):
            name = f"reconstructor_{index:02d}.ubj"
            (folder / name).write_bytes(bytes(model.booster.save_raw("ubj")))
            boosters[column] = {"file": name, "kind": model.kind, "n_classes": model.n_classes}
        return {
            "categories": self.categories,
            "scales": self.scales,
            "reconstructors": boosters,
            "cap": self.cap,
            "log_numeric_targets": self.log_numeric_targets,
        }

    @classmethod
    def load(
        cls, folder: Path, types: dict[str, str], state: Mapping[str, Any]
    ) -> ReconstructionScorer:
        models = {}
        for column, found in state["reconstructors"].items():
            booster = xgb.Booster()
            booster.load_model(bytearray(_read(folder, found["file"])))
            booster.set_param({"nthread": 1})
            models[column] = FeatureReconstructor(
                column, found["kind"], booster, int(found["n_classes"])
            )
        return cls(
            columns=tuple(types),
            types=dict(types),
            categories={k: list(v) for k, v in state["categories"].items()},
            scales={k: float(v) for k, v in state["scales"].items()},
            models=models,
            cap=float(state["cap"]),
            log_numeric_targets=bool(state["log_numeric_targets"]),
        )


# --- saving and loading a model folder ----------------------------------------------------------


def _read(folder: Path, name: str) -> bytes:
    path = folder / name
    if not path.is_file():
        raise ModelArtifactError(f"model folder {folder} has no {name}")
    return path.read_bytes()


def save_classifier(
    folder: Path,
    flavour: str,
    model: Any,
    types: Mapping[str, str],
    flag_threshold: float,
    flag_budget: float,
) -> Path:
    """A fitted XGBoost or CatBoost classifier as a model folder (native format + model.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    if flavour == "xgboost":
        file = "classifier.ubj"
        model.save_model(str(folder / file))
    elif flavour == "catboost":
        file = "classifier.cbm"
        model.save_model(str(folder / file), format="cbm")
    else:
        raise ValueError(f"unknown flavour {flavour!r}, expected one of {', '.join(FLAVOURS)}")
    description = {
        "format_version": FORMAT_VERSION,
        "kind": "classifier",
        "flavour": flavour,
        "file": file,
        "inputs": dict(types),
        "flag_threshold": float(flag_threshold),
        "flag_budget": float(flag_budget),
    }
    (folder / MODEL_FILE).write_text(json.dumps(description, indent=1))
    return folder


def save_autoencoder(folder: Path, scorer: ReconstructionScorer) -> Path:
    """A fitted tree autoencoder as a model folder (one UBJSON booster per feature + model.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    description = {
        "format_version": FORMAT_VERSION,
        "kind": "autoencoder",
        "inputs": dict(scorer.types),
        "autoencoder": scorer.save(folder),
    }
    (folder / MODEL_FILE).write_text(json.dumps(description, indent=1))
    return folder


def _load_classifier(folder: Path, flavour: str, file: str) -> Any:
    data = bytearray(_read(folder, file))
    if flavour == "xgboost":
        model = xgb.XGBClassifier()
        model.load_model(data)
        return model
    if flavour == "catboost":
        model = CatBoostClassifier()
        model.load_model(blob=bytes(data))
        return model
    raise ModelArtifactError(f"{folder / MODEL_FILE}: unknown flavour {flavour!r}")


class FraudModel(PythonModel):
    """The pyfunc the registry serves; ``FraudModel.from_folder`` loads one without MLflow."""

    def __init__(self) -> None:
        self.kind = ""
        self.flavour = ""
        self.input_types: dict[str, str] = {}
        self.flag_threshold = float("nan")
        self.flag_budget = float("nan")
        self.classifier: Any = None
        self.scorer: ReconstructionScorer | None = None

    @classmethod
    def from_folder(cls, folder: Path | str) -> FraudModel:
        model = cls()
        model._load(Path(folder))
        return model

    def load_context(self, context: Any) -> None:
        self._load(Path(context.artifacts[ARTIFACT]))

    def _load(self, folder: Path) -> None:
        try:
            description = json.loads(_read(folder, MODEL_FILE))
        except json.JSONDecodeError as exc:
            raise ModelArtifactError(f"{folder / MODEL_FILE} is not JSON: {exc}") from exc
        if description.get("format_version") != FORMAT_VERSION:
            raise ModelArtifactError(
                f"{folder / MODEL_FILE}: format_version {description.get('format_version')!r}, "
                f"this code reads {FORMAT_VERSION}"
            )
        self.kind = description["kind"]
        self.input_types = dict(description["inputs"])
        if self.kind == "classifier":
            self.flavour = description["flavour"]
            self.flag_threshold = float(description["flag_threshold"])
            self.flag_budget = float(description["flag_budget"])
            self.classifier = _load_classifier(folder, self.flavour, description["file"])
        elif self.kind == "autoencoder":
            self.flavour = "tree_autoencoder"
            self.scorer = ReconstructionScorer.load(
                folder, self.input_types, description["autoencoder"]
            )
        else:
            raise ModelArtifactError(f"{folder / MODEL_FILE}: unknown kind {self.kind!r}")

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.input_types)

    def _what(self) -> str:
        return f"the {self.flavour} {self.kind}"

    def check(self, model_input: pd.DataFrame, table: str = "the frame to score") -> None:
        """Refuse a frame that lacks an input the model was trained on, or has one of another
        type, naming the column and what to do."""
        missing = [column for column in self.inputs if column not in model_input.columns]
        if missing:
            raise FeatureSchemaError(
                f"{self._what()} was trained on feature(s) missing from {table}: "
                f"{', '.join(missing)}. Retrain it on the current fct_claim_features "
                "(dbt build --selector train) or restore the columns."
            )
        check_inputs(model_input, self.input_types, table)

    def _matrix(self, model_input: pd.DataFrame) -> pd.DataFrame:
        self.check(model_input)
        return input_matrix(model_input, self.input_types, "the frame to score")

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        """P(fraud) per row (classifier) or the anomaly score (autoencoder)."""
        matrix = self._matrix(model_input)
        if self.kind == "classifier":
            return predict_probability(self.flavour, self.classifier, matrix)
        return np.asarray(self.scorer.score(matrix))

    def explain(self, model_input: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Per row and input, its TreeSHAP contribution to the margin, and the base value."""
        if self.kind != "classifier":
            raise TypeError(f"{self._what()} has no explanations")
        return contributions(self.flavour, self.classifier, self._matrix(model_input))

    def margin(self, model_input: pd.DataFrame) -> np.ndarray:
        if self.kind != "classifier":
            raise TypeError(f"{self._what()} has no margin")
        return margin(self.flavour, self.classifier, self._matrix(model_input))


# MLflow models-from-code: loading a logged model runs this file and serves the model set here.
mlflow.models.set_model(FraudModel())
