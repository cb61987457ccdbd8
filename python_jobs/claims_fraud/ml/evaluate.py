"""Evaluation helpers shared by training, the promotion gate and the offline reports.

Everything here is a pure function of arrays and frames: no model registry, no I/O.

The operating point of every model is a *flag budget*: SIU can investigate a fixed share of
claims, so a model is judged on the claims it would put in the top ``flag_budget`` share, not
on a probability cut-off. :func:`flag_threshold` turns a budget into a score threshold and every
other function flags with ``score >= threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from claims_fraud.portable_model import as_training_categories

ISOLATION_FOREST_TREES = 200
ISOLATION_FOREST_MAX_SAMPLES = 1024


def _as_float_array(values: Sequence[float] | np.ndarray | pd.Series, name: str) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_budget(flag_budget: float) -> float:
    budget = float(flag_budget)
    if not 0.0 < budget <= 1.0:
        raise ValueError(f"flag_budget must be in (0, 1], got {flag_budget!r}")
    return budget


def flag_threshold(scores: Sequence[float] | np.ndarray | pd.Series, flag_budget: float) -> float:
    """The score at or above which a claim is flagged so that about ``flag_budget`` are flagged.

    ``threshold = numpy.quantile(scores, 1 - flag_budget, method="higher")`` over the non-NaN
    scores, and a claim is flagged when ``score >= threshold`` (NaN scores are never flagged).

    Tie rule: "higher" returns an actual score, the smallest one at or above the
    ``1 - flag_budget`` quantile, so with distinct scores ``n - ceil((1 - b) * (n - 1))`` claims
    are flagged, never more than ``b * (n - 1) + 1`` (e.g. exactly 50 of 1,000 at 5%). Claims
    tied at the threshold are all flagged, so heavy ties at the cut can exceed the budget by the
    size of that tie; a threshold never falls between two tied scores.
    """
    budget = _check_budget(flag_budget)
    values = _as_float_array(scores, "scores")
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("flag_threshold needs at least one non-NaN score")
    return float(np.quantile(values, 1.0 - budget, method="higher"))


def flag_top(scores: Sequence[float] | np.ndarray | pd.Series, flag_budget: float) -> np.ndarray:
    """Boolean mask ``score >= flag_threshold(scores, flag_budget)`` (NaN scores never flagged)."""
    values = _as_float_array(scores, "scores")
    threshold = flag_threshold(values, flag_budget)
    with np.errstate(invalid="ignore"):
        return values >= threshold


def classification_metrics(
    y_true: Sequence[int] | np.ndarray | pd.Series,
    scores: Sequence[float] | np.ndarray | pd.Series,
    flag_budget: float,
    probabilities: bool = True,
) -> dict[str, float]:
    """Ranking and budget metrics of ``scores`` against binary labels ``y_true`` (1 = fraud).

    - ``roc_auc``: area under the ROC curve (sklearn ``roc_auc_score``).
    - ``pr_auc``: average precision, ``sum_k (R_k - R_{k-1}) * P_k`` (sklearn
      ``average_precision_score``; no interpolation).
    - ``precision_at_budget`` = TP / flagged and ``recall_at_budget`` = TP / positives, where
      flagged = ``score >= flag_threshold(scores, flag_budget)``.
    - ``brier`` = mean((score - y)^2), only when ``probabilities`` is true (else NaN): scores of
      an anomaly detector are not probabilities.
    - ``n`` (claims) and ``positives`` (fraud labels), as floats.

    With a single class in ``y_true`` the AUCs (and recall when there is no positive) are NaN;
    nothing raises.
    """
    y = _as_float_array(y_true, "y_true")
    s = _as_float_array(scores, "scores")
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores differ in length: {y.size} != {s.size}")
    if y.size == 0:
        raise ValueError("classification_metrics needs at least one claim")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold only 0 and 1")
    if np.isnan(s).any():
        raise ValueError("scores must not contain NaN")
    positives = float(y.sum())
    flagged = flag_top(s, flag_budget)
    true_positives = float(y[flagged].sum())
    n_flagged = float(flagged.sum())
    two_classes = 0.0 < positives < y.size
    return {
        "roc_auc": float(roc_auc_score(y, s)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if two_classes else float("nan"),
        "precision_at_budget": true_positives / n_flagged if n_flagged else float("nan"),
        "recall_at_budget": true_positives / positives if positives else float("nan"),
        "brier": float(brier_score_loss(y, s)) if probabilities else float("nan"),
        "n": float(y.size),
        "positives": positives,
    }


def provider_bootstrap_pr_auc(
    y_true: Sequence[int] | np.ndarray | pd.Series,
    scores: Sequence[float] | np.ndarray | pd.Series,
    providers: Sequence[object] | np.ndarray | pd.Series,
    draws: int,
    seed: int,
) -> np.ndarray:
    """PR-AUC (``average_precision_score``, as in :func:`classification_metrics`) of ``scores``
    on ``draws`` bootstrap samples of the providers, one value a draw.

    Each draw picks as many providers as there are, with replacement, and weighs each claim by
    how many times its provider was picked (a provider picked twice: its claims twice; one
    provider's claims are in or out together, as a scheme's claims of one provider are caught
    or missed together). A draw without a positive or without a negative is NaN. The same
    inputs and ``seed`` give the same draws, so two models' draws on one population pair up.
    """
    y = _as_float_array(y_true, "y_true")
    s = _as_float_array(scores, "scores")
    codes, uniques = pd.factorize(pd.Series(providers, dtype="object"), use_na_sentinel=False)
    if not y.size == s.size == codes.size:
        raise ValueError(
            f"y_true, scores and providers differ in length: {y.size}, {s.size}, {codes.size}"
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    if y.size == 0:
        raise ValueError("provider_bootstrap_pr_auc needs at least one claim")
    rng = np.random.default_rng(seed)
    k = len(uniques)
    values = np.full(draws, np.nan)
    for draw in range(draws):
        weight = np.bincount(rng.integers(0, k, k), minlength=k)[codes].astype("float64")
        positives = float(weight[y == 1].sum())
        if 0.0 < positives < float(weight.sum()):
            values[draw] = average_precision_score(y, s, sample_weight=weight)
    return values


def per_scheme_recall(
    schemes: pd.Series, flagged: np.ndarray | pd.Series | Sequence[bool]
) -> pd.DataFrame:
    """Recall of the flags per fraud scheme: one row per scheme, sorted by scheme name.

    ``schemes`` holds the injected scheme of each claim, null for a clean claim (clean claims are
    ignored). Columns: ``scheme``, ``claims`` (fraudulent claims of that scheme), ``flagged``
    (of those, how many are flagged) and ``recall`` = flagged / claims.
    """
    mask = np.asarray(flagged, dtype=bool)
    if mask.shape != (len(schemes),):
        raise ValueError(f"flagged has {mask.size} values for {len(schemes)} schemes")
    frame = pd.DataFrame({"scheme": schemes.to_numpy(dtype=object), "flagged": mask})
    frame = frame[frame["scheme"].notna()]
    if frame.empty:
        return pd.DataFrame(
            {
                "scheme": pd.Series(dtype=object),
                "claims": pd.Series(dtype="int64"),
                "flagged": pd.Series(dtype="int64"),
                "recall": pd.Series(dtype="float64"),
            }
        )
    frame["scheme"] = frame["scheme"].astype(str)
    table = (
        frame.groupby("scheme", sort=True)["flagged"]
        .agg(claims="size", flagged="sum")
        .reset_index()
        .astype({"claims": "int64", "flagged": "int64"})
    )
    table["recall"] = table["flagged"] / table["claims"]
    return table


def _numeric_codes(
    frame: pd.DataFrame, categories: dict[str, pd.Index], medians: dict[str, float]
) -> np.ndarray:
    """Float matrix: categoricals as codes of the training categories (unseen or null -> -1),
    other columns with NaN replaced by the training median."""
    columns = []
    for column in frame.columns:
        if column in categories:
            codes = as_training_categories(frame[column], categories[column]).codes
            columns.append(codes.astype("float64"))
        else:
            values = pd.to_numeric(frame[column], errors="raise").to_numpy(
                dtype="float64", na_value=np.nan
            )
            columns.append(np.where(np.isnan(values), medians[column], values))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def isolation_forest_baseline(
    train_X: pd.DataFrame,  # noqa: N803 (the public argument names)
    score_X: pd.DataFrame,  # noqa: N803
    seed: int,
) -> np.ndarray:
    """Anomaly scores of ``score_X`` from an IsolationForest fitted on ``train_X``; higher =
    more anomalous (the negated sklearn ``score_samples``).

    Both frames are model-input frames (``feature_matrix``) with the same columns. Numeric and
    boolean NaN are imputed with the training median (0 when a column is entirely null);
    categoricals become integer codes of the training categories (null or unseen -> -1).
    200 trees of 1,024 samples each, seeded.
    """
    missing = [column for column in train_X.columns if column not in score_X.columns]
    if missing:
        raise ValueError(f"score_X is missing column(s): {', '.join(missing)}")
    categories: dict[str, pd.Index] = {}
    medians: dict[str, float] = {}
    for column in train_X.columns:
        series = train_X[column]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
            series.dtype
        ):
            levels = series.dropna().astype(str).unique()
            categories[column] = pd.Index(sorted(levels))
        else:
            median = (
                float(np.nanmedian(series.to_numpy(dtype="float64")))
                if series.notna().any()
                else 0.0
            )
            medians[column] = median
    train = _numeric_codes(train_X, categories, medians)
    score = _numeric_codes(score_X[list(train_X.columns)], categories, medians)
    forest = IsolationForest(
        n_estimators=ISOLATION_FOREST_TREES,
        max_samples=min(ISOLATION_FOREST_MAX_SAMPLES, len(train)),
        random_state=seed,
        n_jobs=1,
    )
    forest.fit(train)
    return -forest.score_samples(score)
