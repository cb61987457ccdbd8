"""Supervised fraud models: labels from SIU outcomes, a time split, XGBoost and CatBoost.

Pure functions and frozen dataclasses only (no MLflow, no I/O): the training job wraps them.

Flow: ``label_claims`` joins features to closed SIU investigations, ``time_split`` holds out the
most recent claims as the validation window, ``train_candidates`` fits one XGBoost and one
CatBoost model in parallel with early stopping on that window, and ``best_candidate`` picks the
one with the best validation PR-AUC. ``predict_probability`` scores any ``feature_matrix`` frame
with either flavour.

Both flavours weight the classes to balance them (XGBoost ``scale_pos_weight`` = negatives /
positives, CatBoost ``auto_class_weights='Balanced'``), so their probabilities rank claims well
but are inflated relative to the base rate: use them for ranking against a flag budget, not as
calibrated fraud rates.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool
from xgboost import XGBClassifier

from claims_fraud.features.spec import FeatureSpec, feature_matrix
from claims_fraud.ml.config import config_from_mapping, config_to_dict
from claims_fraud.ml.evaluate import classification_metrics
from claims_fraud.portable_model import (
    align_categories,
    catboost_frame,
    predict_probability,
)

Flavour = Literal["xgboost", "catboost"]  # claims_fraud.portable_model.FLAVOURS
FLAVOURS: tuple[Flavour, ...] = ("xgboost", "catboost")
LABEL = "label"
DATE_COLUMN = "claim_start_date"
OUTCOME_LABELS = {"confirmed_fraud": 1, "no_fraud": 0}
DROPPED_OUTCOMES = frozenset({"inconclusive"})


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters shared by both flavours; ``*_params`` are passed to one flavour's
    constructor last, so they override the shared ones (e.g. ``{"min_child_weight": 5}``)."""

    seed: int = 42
    validation_share: float = 0.2
    flag_budget: float = 0.05
    max_rounds: int = 400
    early_stopping_rounds: int = 30
    learning_rate: float = 0.08
    max_depth: int = 6
    threads: int = 2
    xgboost_params: Mapping[str, Any] = field(default_factory=dict)
    catboost_params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.validation_share < 1.0:
            raise ValueError(f"validation_share must be in (0, 1), got {self.validation_share}")
        if not 0.0 < self.flag_budget <= 1.0:
            raise ValueError(f"flag_budget must be in (0, 1], got {self.flag_budget}")
        for name in ("max_rounds", "early_stopping_rounds", "max_depth", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        # Copy so a caller mutating its dict later cannot change a frozen config.
        object.__setattr__(self, "xgboost_params", dict(self.xgboost_params))
        object.__setattr__(self, "catboost_params", dict(self.catboost_params))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """None values mean "use the default"; an unknown key raises ValueError naming it."""
        return config_from_mapping(cls, data, "training")

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @property
    def threads_per_model(self) -> int:
        """Threads for each of the two models trained side by side: max(1, threads // 2)."""
        return max(1, self.threads // 2)


@dataclass(frozen=True)
class Split:
    """Train and validation frames of a time split; the validation window is
    [validation_start, validation_end] by claim_start_date, inclusive."""

    train: pd.DataFrame
    valid: pd.DataFrame
    validation_start: date
    validation_end: date


@dataclass(frozen=True)
class Candidate:
    """One fitted model and how it did on the validation window."""

    flavour: Flavour
    model: Any
    params: dict[str, Any]
    feature_columns: tuple[str, ...]
    valid_probabilities: np.ndarray
    metrics: dict[str, float]
    train_seconds: float


# --- labels and split ---------------------------------------------------------------------------


def label_claims(features: pd.DataFrame, investigations: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of the claims with a conclusive SIU outcome, plus ``label``.

    Inner join on ``claim_id``: ``label`` = 1 for ``confirmed_fraud``, 0 for ``no_fraud``;
    ``inconclusive`` investigations are dropped, any other outcome raises ValueError. When a
    claim has several conclusive investigations the one closed last counts (ties: the first
    in input order). Rows keep the order of ``features``.
    """
    for name, frame in (("features", features), ("investigations", investigations)):
        if "claim_id" not in frame.columns:
            raise ValueError(f"{name} has no claim_id column")
    if "outcome" not in investigations.columns:
        raise ValueError("investigations has no outcome column")
    outcome = investigations["outcome"].astype(object)
    unknown = sorted(set(outcome.dropna()) - set(OUTCOME_LABELS) - set(DROPPED_OUTCOMES), key=str)
    if unknown or outcome.isna().any():
        shown = [*map(str, unknown), *(["<null>"] if outcome.isna().any() else [])]
        raise ValueError(f"unknown SIU outcome(s): {', '.join(shown)}")
    conclusive = investigations.loc[outcome.isin(list(OUTCOME_LABELS))].copy()
    conclusive["_order"] = np.arange(len(conclusive))
    if "investigation_closed_date" in conclusive.columns:
        conclusive = conclusive.sort_values(
            ["investigation_closed_date", "_order"], kind="stable", na_position="first"
        )
    latest = conclusive.drop_duplicates("claim_id", keep="last")
    labels = pd.DataFrame(
        {
            "claim_id": latest["claim_id"].to_numpy(),
            LABEL: latest["outcome"].map(OUTCOME_LABELS).astype("int8").to_numpy(),
        }
    )
    if LABEL in features.columns:
        raise ValueError(f"features already has a {LABEL} column")
    merged = features.merge(labels, on="claim_id", how="inner", validate="many_to_one")
    return merged.reset_index(drop=True)


def _to_day(values: pd.Series) -> np.ndarray:
    """claim_start_date as numpy datetime64[D] (accepts date objects, datetimes, strings)."""
    days = pd.to_datetime(values, errors="raise")
    if days.isna().any():
        raise ValueError(f"{DATE_COLUMN} has null values")
    return days.to_numpy().astype("datetime64[D]")


def time_split(labelled: pd.DataFrame, validation_share: float) -> Split:
    """Hold out the most recent claims (by ``claim_start_date``) as the validation window.

    With n labelled claims sorted by date, let k = ceil(validation_share * n) and
    ``validation_start`` = the date of the k-th most recent claim. Validation = every claim on
    or after that date, train = every claim before it, so a day is never split across the two
    sides (validation can be slightly larger than k when that day has several claims).
    Raises ValueError when either side is empty or holds a single class of ``label``.
    """
    if not 0.0 < validation_share < 1.0:
        raise ValueError(f"validation_share must be in (0, 1), got {validation_share}")
    for column in (DATE_COLUMN, LABEL):
        if column not in labelled.columns:
            raise ValueError(f"labelled claims have no {column} column")
    if labelled.empty:
        raise ValueError("time_split: no labelled claims")
    days = _to_day(labelled[DATE_COLUMN])
    # The tolerance keeps float noise from adding a claim: 0.3 * 10 is 3.0000000000000004.
    k = max(1, int(np.ceil(validation_share * len(days) - 1e-9)))
    start = np.sort(days)[len(days) - k]
    in_valid = days >= start
    train, valid = labelled.loc[~in_valid], labelled.loc[in_valid]
    for side, frame in (("train", train), ("validation", valid)):
        if frame.empty:
            raise ValueError(
                f"time_split: the {side} side is empty: all {len(days)} labelled claims start "
                f"on or after {start}, the first day of the validation window"
            )
        classes = sorted(frame[LABEL].unique().tolist())
        if len(classes) < 2:
            raise ValueError(
                f"time_split: the {side} side ({len(frame)} claims, validation from {start}) "
                f"has a single class of {LABEL}: {classes}"
            )
    return Split(
        train=train.reset_index(drop=True),
        valid=valid.reset_index(drop=True),
        validation_start=start.astype(object),
        validation_end=days.max().astype(object),
    )


# --- training -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_valid: pd.DataFrame
    y_valid: np.ndarray
    spec: FeatureSpec


def _xgboost_params(data: _Data, config: TrainingConfig) -> dict[str, Any]:
    positives = float(data.y_train.sum())
    negatives = float(data.y_train.size - positives)
    return {
        "n_estimators": config.max_rounds,
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "tree_method": "hist",
        "enable_categorical": True,
        "scale_pos_weight": negatives / positives,
        "eval_metric": "aucpr",
        "early_stopping_rounds": config.early_stopping_rounds,
        "random_state": config.seed,
        "n_jobs": config.threads_per_model,
        **config.xgboost_params,
    }


def _fit_xgboost(data: _Data, config: TrainingConfig) -> Candidate:
    started = time.perf_counter()
    params = _xgboost_params(data, config)
    categories = {
        column: data.X_train[column].cat.categories.astype(str).tolist()
        for column in data.spec.categorical
    }
    train = align_categories(data.X_train, categories)
    valid = align_categories(data.X_valid, categories)
    model = XGBClassifier(**params)
    model.fit(train, data.y_train, eval_set=[(valid, data.y_valid)], verbose=False)
    seconds = time.perf_counter() - started
    best = getattr(model, "best_iteration", None)
    used = {**params, "best_iteration": None if best is None else int(best)}
    return _candidate("xgboost", model, used, data, config, seconds)


def _catboost_params(config: TrainingConfig) -> dict[str, Any]:
    return {
        "iterations": config.max_rounds,
        "learning_rate": config.learning_rate,
        "depth": config.max_depth,
        "loss_function": "Logloss",
        "eval_metric": "PRAUC",
        "auto_class_weights": "Balanced",
        "od_type": "Iter",
        "od_wait": config.early_stopping_rounds,
        "use_best_model": True,
        "random_seed": config.seed,
        "thread_count": config.threads_per_model,
        "allow_writing_files": False,
        "verbose": 0,
        **config.catboost_params,
    }


def _fit_catboost(data: _Data, config: TrainingConfig) -> Candidate:
    started = time.perf_counter()
    params = _catboost_params(config)
    cat_columns = list(data.spec.categorical)
    train = Pool(catboost_frame(data.X_train, cat_columns), data.y_train, cat_features=cat_columns)
    valid = Pool(catboost_frame(data.X_valid, cat_columns), data.y_valid, cat_features=cat_columns)
    model = CatBoostClassifier(**params, cat_features=cat_columns)
    model.fit(train, eval_set=valid)
    seconds = time.perf_counter() - started
    used = {
        **params,
        "cat_features": cat_columns,
        "best_iteration": int(model.get_best_iteration()),
    }
    return _candidate("catboost", model, used, data, config, seconds)


def _candidate(
    flavour: Flavour,
    model: Any,
    params: dict[str, Any],
    data: _Data,
    config: TrainingConfig,
    seconds: float,
) -> Candidate:
    probabilities = predict_probability(flavour, model, data.X_valid)
    return Candidate(
        flavour=flavour,
        model=model,
        params=params,
        feature_columns=data.spec.inputs,
        valid_probabilities=probabilities,
        metrics=classification_metrics(data.y_valid, probabilities, config.flag_budget),
        train_seconds=seconds,
    )


def train_candidates(split: Split, spec: FeatureSpec, config: TrainingConfig) -> list[Candidate]:
    """Fit XGBoost and CatBoost side by side, early-stopped on the validation window.

    Both see the same inputs (``feature_matrix(frame, spec)``, columns in ``spec.inputs``
    order) and labels; they run in a two-worker thread pool (both libraries release the GIL),
    each with ``config.threads_per_model`` threads. Same data, config and seed give identical
    predictions. Returned in ``FLAVOURS`` order: xgboost, then catboost.
    """
    y_train = split.train[LABEL].to_numpy(dtype="int64")
    y_valid = split.valid[LABEL].to_numpy(dtype="int64")
    for side, y in (("train", y_train), ("validation", y_valid)):
        if np.unique(y).size < 2:
            raise ValueError(f"train_candidates: the {side} labels hold a single class")
    data = _Data(
        X_train=feature_matrix(split.train, spec),
        y_train=y_train,
        X_valid=feature_matrix(split.valid, spec),
        y_valid=y_valid,
        spec=spec,
    )
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="train") as pool:
        futures = [
            pool.submit(_fit_xgboost, data, config),
            pool.submit(_fit_catboost, data, config),
        ]
        return [future.result() for future in futures]


def _rank_key(candidate: Candidate) -> tuple[float, float]:
    def finite(value: float) -> float:
        return value if np.isfinite(value) else -np.inf

    return finite(candidate.metrics["pr_auc"]), finite(candidate.metrics["roc_auc"])


def best_candidate(candidates: list[Candidate]) -> Candidate:
    """The candidate with the highest validation ``pr_auc``; ties go to the higher ``roc_auc``,
    then to the earlier candidate. NaN metrics rank last."""
    if not candidates:
        raise ValueError("best_candidate: no candidates")
    return max(candidates, key=_rank_key)
