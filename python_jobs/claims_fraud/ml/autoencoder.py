"""Unsupervised "tree autoencoder": how badly does each feature fit what the others predict?

For every model input j, a small gradient-boosted model predicts feature j from all the other
inputs. On a normal claim the features agree with each other (paid <= allowed <= charge, the
90-day count covers the 30-day count, an impossible day follows from the billed minutes, ...);
a claim whose features break those learned relationships has large standardised residuals.

Residual r_ij of row i on feature j (observed minus predicted):

- numeric: ``t(x_ij) - f_j(x_i,-j)`` with ``t(x) = x`` (the default) or
  ``t(x) = sign(x) * log1p(|x|)`` when ``log_numeric_targets`` (a relative residual; it scored
  worse against the synthetic ground truth); ``f_j`` is gradient-boosted regression trees
  (XGBoost ``reg:squarederror``).
- boolean: ``x_ij - f_j(x_i,-j)`` on 0/1, ``f_j`` the same kind of regressor.
- categorical: ``1 - P_j(observed level | x_i,-j)`` from an XGBoost classifier
  (``binary:logistic`` for two levels, ``multi:softprob`` otherwise); a level unseen in
  training has residual 1.

Scale s_j, from feature j's training residuals (SD = their standard deviation, MAD =
median |r - median(r)|):

- numeric: ``s_j = max(1.4826 * MAD, sd_floor * SD)`` (``sd_floor`` = 0.25). 1.4826 * MAD is
  the robust SD; the floor matters for discrete, zero-inflated features (line_count,
  total_service_units, ...) whose residuals are mostly exactly 0, where the MAD collapses and
  every non-zero residual would hit the cap. ``scale_methods`` says which term won.
- boolean and categorical: ``s_j = SD``. Their residuals take two clusters of values, where a
  MAD is meaningless; r / SD is then close to a Pearson residual.
- ``s_j <= min_scale`` (a perfectly predicted feature): feature j is skipped and recorded in
  ``skipped_features``, as are a constant feature, an all-null one and a categorical with
  fewer than two training levels.

Score of row i over the J used features::

    score_i = (1 / J) * sum_j e_ij,   e_ij = min((r_ij / s_j) ** 2, cap)   (cap = 100)

where e_ij = 0 when x_ij is null (its residual is undefined). Null inputs are fine: XGBoost
routes them down its learned missing-value branch. Rows with a null target are left out of
feature j's fit. The fit uses at most ``sample_size`` rows (a seeded sample without replacement)
and is deterministic for a seed. The per-feature models are fitted (and scored) in a pool of
``threads`` worker threads, each booster single-threaded: XGBoost parallelises small trees
poorly, and the boosters release the GIL.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from claims_fraud.features.spec import FeatureSpec
from claims_fraud.ml.config import config_from_mapping, config_to_dict
from claims_fraud.portable_model import (
    FeatureReconstructor,
    ReconstructionScorer,
)

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AutoencoderConfig:
    """Size and scoring knobs of the tree autoencoder (see the module docstring)."""

    seed: int = 42
    sample_size: int = 200_000
    n_rounds: int = 60
    max_depth: int = 5
    learning_rate: float = 0.2
    threads: int = 2
    cap: float = 100.0
    min_scale: float = 1e-6
    log_numeric_targets: bool = False
    sd_floor: float = 0.25

    def __post_init__(self) -> None:
        for name in ("sample_size", "n_rounds", "max_depth", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "cap", "min_scale", "sd_floor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoencoderConfig:
        """None values mean "use the default"; an unknown key raises ValueError naming it."""
        return config_from_mapping(cls, data, "autoencoder")

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)


class TreeAutoencoder:
    """Per-feature gradient-boosted reconstruction error; ``score`` is higher when a claim's
    features disagree with each other. See the module docstring for the exact formula.

    After ``fit``: ``feature_columns`` (inputs, in spec order), ``scales`` (feature -> s_j of
    the used features), ``scale_methods`` (feature -> 'mad', 'sd_floor' or 'std'),
    ``skipped_features`` (feature -> reason), ``categories`` (categorical -> training levels),
    ``n_fit_rows`` and ``fit_seconds``. Picklable (boosters pickle with their models).
    """

    def __init__(self, config: AutoencoderConfig | None = None) -> None:
        self.config = config or AutoencoderConfig()
        self.feature_columns: tuple[str, ...] = ()
        self.feature_types: dict[str, str] = {}
        self.categories: dict[str, list[str]] = {}
        self.scales: dict[str, float] = {}
        self.scale_methods: dict[str, str] = {}
        self.skipped_features: dict[str, str] = {}
        self.n_fit_rows = 0
        self.fit_seconds = float("nan")
        self._models: dict[str, FeatureReconstructor] = {}

    def scorer(self) -> ReconstructionScorer:
        """The scoring half (claims_fraud.portable_model, what the registered model runs)."""
        return ReconstructionScorer(
            columns=self.feature_columns,
            types=self.feature_types,
            categories=self.categories,
            scales=self.scales,
            models=self._models,
            cap=self.config.cap,
            log_numeric_targets=self.config.log_numeric_targets,
            threads=self.config.threads,
        )

    def _params(self, kind: str, n_classes: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "tree_method": "hist",
            "max_depth": self.config.max_depth,
            "eta": self.config.learning_rate,
            "seed": self.config.seed,
            "nthread": 1,  # one thread per booster: the features are fitted in parallel
            "verbosity": 0,
        }
        if kind != "categorical":
            params["objective"] = "reg:squarederror"
        elif n_classes == 2:
            params["objective"] = "binary:logistic"
        else:
            params.update(objective="multi:softprob", num_class=n_classes)
        return params

    # --- public API ----------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, spec: FeatureSpec) -> TreeAutoencoder:  # noqa: N803
        """Fit one model per input of ``spec`` on (a seeded sample of at most ``sample_size``
        rows of) ``X``, then store each feature's residual scale."""
        started = time.perf_counter()
        if len(X) == 0:
            raise ValueError("TreeAutoencoder.fit needs at least one row")
        self.feature_columns = tuple(spec.inputs)
        self.feature_types = {column: spec.type_of(column) for column in self.feature_columns}
        sample = X
        if len(X) > self.config.sample_size:
            rng = np.random.default_rng(self.config.seed)
            rows = np.sort(rng.choice(len(X), size=self.config.sample_size, replace=False))
            sample = X.iloc[rows]
        self.categories = {
            column: sorted(sample[column].dropna().astype(str).unique().tolist())
            for column in self.feature_columns
            if self.feature_types[column] == "categorical"
        }
        scoring = self.scorer()
        prepared = scoring.prepare(sample)
        # Multi-class targets are the slowest fits (one tree per class and round): start them
        # first so the other workers share out the rest. Results are kept in spec order.
        order = sorted(
            self.feature_columns, key=lambda column: -len(self.categories.get(column, ()))
        )
        with ThreadPoolExecutor(max_workers=self.config.threads) as pool:
            fitted = dict(
                zip(
                    order,
                    pool.map(partial(self._fit_feature, scoring, prepared), order),
                    strict=True,
                )
            )
        self._models, self.scales, self.scale_methods, self.skipped_features = {}, {}, {}, {}
        for column in self.feature_columns:
            result = fitted[column]
            if isinstance(result, str):
                self.skipped_features[column] = result
            else:
                self._models[column], self.scales[column], self.scale_methods[column] = result
        self.n_fit_rows = len(prepared)
        self.fit_seconds = time.perf_counter() - started
        return self

    def _fit_feature(
        self, scoring: ReconstructionScorer, prepared: pd.DataFrame, column: str
    ) -> tuple[FeatureReconstructor, float, str] | str:
        """(model, scale, scale method) of one feature, or why it is skipped. Pure: runs in a
        worker thread and touches no attribute it does not only read."""
        kind = self.feature_types[column]
        target = scoring.target(prepared, column)
        known = ~np.isnan(target)
        if not known.any():
            return "all values null"
        n_classes = len(self.categories.get(column, ()))
        if kind == "categorical" and n_classes < 2:
            return f"{n_classes} training level(s)"
        if kind != "categorical" and np.ptp(target[known]) == 0:
            return "constant"
        matrix = scoring.dmatrix(prepared.loc[known], column)
        matrix.set_label(target[known])
        booster = xgb.train(
            self._params(kind, n_classes), matrix, num_boost_round=self.config.n_rounds
        )
        model = FeatureReconstructor(
            column, kind, booster, n_classes if kind == "categorical" else 0
        )
        residuals = scoring.residuals(model, matrix, target[known])
        mad_scale = MAD_TO_SIGMA * float(np.median(np.abs(residuals - np.median(residuals))))
        std_scale = float(np.std(residuals))
        if kind == "numeric" and mad_scale >= self.config.sd_floor * std_scale:
            scale, method = mad_scale, "mad"
        elif kind == "numeric":
            scale, method = self.config.sd_floor * std_scale, "sd_floor"
        else:
            scale, method = std_scale, "std"
        if scale <= self.config.min_scale:
            return "residual scale <= min_scale (perfectly predicted)"
        return model, scale, method

    def feature_errors(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        """e_ij = min((r_ij / s_j)^2, cap) per used feature (0 where x_ij is null), indexed
        like ``X``: which features make a claim anomalous."""
        return self.scorer().feature_errors(X)

    def score(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """score_i = mean over the used features of e_ij (see ``feature_errors``)."""
        return self.scorer().score(X)
