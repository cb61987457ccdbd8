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

import pandas as pd
import yaml

from claims_fraud.features.reference import find_project_root
from claims_fraud.portable_model import (
    FEATURE_TYPES,
    FeatureSchemaError,
    check_inputs,
    input_matrix,
)

__all__ = [
    "FEATURES_MODEL",
    "FEATURES_YAML",
    "FEATURE_TYPES",
    "FeatureSchemaError",
    "FeatureSpec",
    "feature_matrix",
    "load_feature_spec",
    "parse_feature_spec",
    "validate_feature_frame",
]

FEATURES_MODEL = "fct_claim_features"
FEATURES_YAML = Path("models/features/_features__models.yml")


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

    @property
    def types(self) -> dict[str, str]:
        """{input: feature type}, in ``inputs`` order (what a registered model stores)."""
        return {column: self.type_of(column) for column in self.inputs}

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
    check_inputs(frame, spec.types, table)


def feature_matrix(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Model inputs only, typed for tree models: numeric and boolean as float64 (NaN for
    nulls), categorical as pandas category. Raises FeatureSchemaError first if the frame is off.
    The registered models build their inputs with the same function (portable_model)."""
    return input_matrix(frame, spec.types, FEATURES_MODEL)
