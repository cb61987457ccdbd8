"""Which columns of fct_claim_features feed the models, read from the dbt YAML that marks them.

`models/features/_features__models.yml` is the single source of truth: a column whose
`config.meta.model_input` is true is a model input, typed by `meta.feature_type`
(numeric, boolean or categorical); `meta.protected_attribute` marks what monitoring needs
and no model may read. Training, scoring and monitoring all call `load_feature_spec()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from claims_fraud.features.reference import find_project_root

FEATURES_MODEL = "fct_claim_features"
FEATURES_YAML = Path("models/features/_features__models.yml")
FEATURE_TYPES = ("numeric", "boolean", "categorical")


class FeatureSchemaError(ValueError):
    """A feature frame or a model does not match the expected feature columns."""


@dataclass(frozen=True)
class FeatureSpec:
    """Model inputs by type, in YAML order, and the protected attributes."""

    numeric: tuple[str, ...]
    boolean: tuple[str, ...]
    categorical: tuple[str, ...]
    protected: tuple[str, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.numeric + self.boolean + self.categorical

    def type_of(self, column: str) -> str:
        for feature_type in FEATURE_TYPES:
            if column in getattr(self, feature_type):
                return feature_type
        raise KeyError(column)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "numeric": list(self.numeric),
            "boolean": list(self.boolean),
            "categorical": list(self.categorical),
            "protected": list(self.protected),
        }

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> FeatureSpec:
        return cls(
            numeric=tuple(data["numeric"]),
            boolean=tuple(data["boolean"]),
            categorical=tuple(data["categorical"]),
            protected=tuple(data.get("protected", ())),
        )


def _features_yaml_text(path: Path | None) -> tuple[str, str]:
    if path is not None:
        return path.read_text(), str(path)
    in_project = find_project_root() / FEATURES_YAML
    if in_project.exists():
        return in_project.read_text(), str(in_project)
    # Installed from the wheel (e.g. on a Databricks cluster): the YAML ships as package data.
    packaged = resources.files("claims_fraud").joinpath("_features__models.yml")
    return packaged.read_text(), str(packaged)


def parse_feature_spec(text: str, source: str = FEATURES_YAML.as_posix()) -> FeatureSpec:
    """Build the spec from the YAML text; errors name the file and the column."""
    document = yaml.safe_load(text) or {}
    models = {model["name"]: model for model in document.get("models", [])}
    if FEATURES_MODEL not in models:
        raise FeatureSchemaError(f"{source}: no model named {FEATURES_MODEL}")
    by_type: dict[str, list[str]] = {feature_type: [] for feature_type in FEATURE_TYPES}
    protected: list[str] = []
    for column in models[FEATURES_MODEL].get("columns", []):
        meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
        if meta.get("protected_attribute"):
            protected.append(column["name"])
            if meta.get("model_input"):
                raise FeatureSchemaError(
                    f"{source}: column {column['name']} is a protected attribute and cannot be "
                    "a model input"
                )
        if not meta.get("model_input"):
            continue
        feature_type = meta.get("feature_type")
        if feature_type not in FEATURE_TYPES:
            raise FeatureSchemaError(
                f"{source}: model input {column['name']} needs meta.feature_type, one of "
                f"{', '.join(FEATURE_TYPES)} (got {feature_type!r})"
            )
        by_type[feature_type].append(column["name"])
    if not any(by_type.values()):
        raise FeatureSchemaError(f"{source}: {FEATURES_MODEL} marks no column model_input: true")
    return FeatureSpec(
        numeric=tuple(by_type["numeric"]),
        boolean=tuple(by_type["boolean"]),
        categorical=tuple(by_type["categorical"]),
        protected=tuple(protected),
    )


def load_feature_spec(path: Path | None = None) -> FeatureSpec:
    """The feature spec from the project's features YAML (or the copy packaged in the wheel)."""
    text, source = _features_yaml_text(path)
    return parse_feature_spec(text, source)


def validate_feature_frame(
    frame: pd.DataFrame, spec: FeatureSpec, table: str = FEATURES_MODEL
) -> None:
    """Fail, naming the column, when a model input is missing or has the wrong type."""
    missing = [column for column in spec.inputs if column not in frame.columns]
    if missing:
        raise FeatureSchemaError(f"{table} is missing feature column(s): {', '.join(missing)}")
    for column in spec.numeric:
        dtype = frame[column].dtype
        is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if not (is_number or _is_decimal_object(frame[column])):
            raise FeatureSchemaError(f"{table}.{column} must be numeric, got {dtype}")
    for column in spec.boolean:
        dtype = frame[column].dtype
        if not (pd.api.types.is_bool_dtype(dtype) or _is_boolean_object(frame[column])):
            raise FeatureSchemaError(f"{table}.{column} must be boolean, got {dtype}")
    for column in spec.categorical:
        dtype = frame[column].dtype
        if not (
            pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            raise FeatureSchemaError(f"{table}.{column} must be text (categorical), got {dtype}")


def _is_decimal_object(series: pd.Series) -> bool:
    """DECIMAL columns arrive as Python Decimal objects from some engines."""
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
    return series.dropna().map(lambda value: isinstance(value, (bool, np.bool_))).all()


def feature_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Model inputs only, typed for tree models: numeric and boolean as float64 (NaN for
    nulls), categorical as pandas category. Raises FeatureSchemaError first if the frame is off."""
    validate_feature_frame(frame, spec)
    matrix = pd.DataFrame(index=frame.index)
    for column in spec.numeric:
        matrix[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
    for column in spec.boolean:
        matrix[column] = frame[column].astype("float64")
    for column in spec.categorical:
        matrix[column] = frame[column].astype("string").astype("category")
    return matrix
