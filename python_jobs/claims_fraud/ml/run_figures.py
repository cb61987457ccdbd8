"""The figures a training run logs to MLflow, so a reviewer reads a model without code.

For a classifier candidate, on its validation window's labelled claims: the precision-recall
and ROC curves, a calibration curve (10 quantile bins; the classes are weighted, so the
probabilities sit above the diagonal: read the ranking, not the level), the confusion matrix
at the flag budget, and the mean |TreeSHAP contribution| per input (the same contributions
the explanations use) on up to ``IMPORTANCE_ROWS`` claims of the window. matplotlib with the
Agg backend: no display needed, nothing printed.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from claims_fraud.ml.evaluate import flag_threshold

IMPORTANCE_ROWS = 5000
FOLDER = "plots"


def mean_abs_contributions(values: pd.DataFrame) -> pd.Series:
    """Mean |contribution| per input, largest first (a global importance in log-odds)."""
    return values.abs().mean(axis=0).sort_values(ascending=False)


def _save(figure: plt.Figure, name: str) -> None:
    figure.tight_layout()
    mlflow.log_figure(figure, f"{FOLDER}/{name}.png")
    plt.close(figure)


def log_classifier_figures(
    labels: np.ndarray,
    probabilities: np.ndarray,
    flag_budget: float,
    title: str,
    importance: pd.Series | None = None,
) -> list[str]:
    """Log the figures to the active run; returns their artifact paths."""
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    names = []

    precision, recall, _ = precision_recall_curve(labels, probabilities)
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.plot(recall, precision)
    axis.axhline(labels.mean(), linestyle="--", color="grey", label="base rate")
    axis.set(xlabel="recall", ylabel="precision", title=f"Precision-recall, {title}")
    axis.legend(loc="lower left")
    _save(figure, "pr_curve")
    names.append("pr_curve")

    false_positive, true_positive, _ = roc_curve(labels, probabilities)
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.plot(false_positive, true_positive)
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, {title}")
    _save(figure, "roc_curve")
    names.append("roc_curve")

    observed, predicted = calibration_curve(labels, probabilities, n_bins=10, strategy="quantile")
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.plot(predicted, observed, marker="o")
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axis.set(
        xlabel="mean predicted probability",
        ylabel="observed fraud share",
        title=f"Calibration (10 quantile bins), {title}",
    )
    _save(figure, "calibration")
    names.append("calibration")

    flagged = probabilities >= flag_threshold(probabilities, flag_budget)
    matrix = np.array(
        [
            [np.sum(~flagged & (labels == 0)), np.sum(flagged & (labels == 0))],
            [np.sum(~flagged & (labels == 1)), np.sum(flagged & (labels == 1))],
        ]
    )
    figure, axis = plt.subplots(figsize=(4.5, 4))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, f"{count:,}", ha="center", va="center")
    axis.set_xticks([0, 1], ["not flagged", "flagged"])
    axis.set_yticks([0, 1], ["no fraud", "fraud"])
    axis.set_title(f"At the {flag_budget:.0%} flag budget, {title}")
    _save(figure, "confusion_at_budget")
    names.append("confusion_at_budget")

    if importance is not None and not importance.empty:
        shown = importance.head(20)[::-1]
        figure, axis = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.2))
        axis.barh(list(shown.index), shown.to_numpy())
        axis.set(xlabel="mean |SHAP contribution| (log-odds)", title=f"Inputs, {title}")
        _save(figure, "shap_importance")
        mlflow.log_dict({k: float(v) for k, v in importance.items()}, "shap_importance.json")
        names.append("shap_importance")
    return [f"{FOLDER}/{name}.png" for name in names]


def version_description(
    flavour: str,
    metrics: Mapping[str, float],
    n_train: int,
    n_labelled_train: int,
    validation: tuple[str, str],
    threshold: float,
    trained_at: str,
) -> str:
    """What a registered version is, in a sentence or three (the registry shows it)."""
    shown = ", ".join(
        f"{name} {metrics[name]:.3f}"
        for name in ("pr_auc", "roc_auc", "precision_at_budget", "recall_at_budget")
        if metrics.get(name) is not None and np.isfinite(metrics[name])
    )
    return (
        f"{flavour} trained {trained_at} on {n_train:,} claims before {validation[0]} "
        f"({n_labelled_train:,} with a conclusive SIU outcome). Validation window "
        f"{validation[0]} to {validation[1]} (SIU labels): {shown or 'no metrics'}. Flags "
        f"claims at probability >= {threshold:.4f} (the top of its validation window at the "
        "flag budget). Gate results are appended by `claims-fraud promote`."
    )
