"""Quality on populations the model never saw: train on one synthetic population, evaluate on
others made by the same generator with other seeds, next to an IsolationForest fitted the same
way.

The model is trained as the training job trains it (SIU labels, time split, both flavours, the
better one kept) on the training population. Every population is then judged against the
generator's ground truth on the same calendar window, the training population's validation
window: PR-AUC, recall at the flag budget, and recall at the budget per fraud scheme. Flags
are the top ``flag_budget`` of each population's own scores in that window, as a batch would
be flagged. The flavour the gate did not keep is judged too: the gate chooses on a few hundred
SIU labels, and whether the other flavour would have generalised better is worth seeing. The
IsolationForest baseline is fitted on the training population's claims before the window
(what the model trained on) and scores every population's window.

Each held-out population is also judged by its own model: trained the same way on its own SIU
labels, split on the same dates (``trained_on`` = its seed). Populations of one generator differ
in how hard they are (which providers a scheme drew, how many rings), so the distance between
a held-out population's PR-AUC and the training population's mixes that with what training
elsewhere costs; the distance to its own model's PR-AUC is the cost alone.

The transfer matrix turns the own models around: the model each population keeps, judged on
every population, with provider-bootstrap intervals of each PR-AUC and gap
(:func:`transfer_gaps`).

Pure functions over frames; ``claims-fraud evaluate-populations`` (cli/populations.py) makes
the populations (generator + the features dbt build) and prints the report
(:mod:`claims_fraud.ml.population_report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import norm

from claims_fraud.features.reference import find_project_root
from claims_fraud.features.spec import FeatureSpec, feature_matrix, load_feature_spec
from claims_fraud.ml.evaluate import (
    classification_metrics,
    flag_top,
    isolation_forest_baseline,
    per_scheme_recall,
    provider_bootstrap_pr_auc,
)
from claims_fraud.ml.train import (
    LABEL,
    Candidate,
    Split,
    TrainingConfig,
    best_candidate,
    label_claims,
    time_split,
    train_candidates,
)
from claims_fraud.ml.training_job import claim_windows
from claims_fraud.portable_model import contributions, predict_probability

# the confidence of the per-scheme recall intervals (Wilson's, on the claims' effective number)
RECALL_CONFIDENCE = 0.95
# the per-scheme columns of a report's quality table, each named FIGURE__SCHEME
SCHEME_FIGURES = (
    "recall",
    "claims",
    "providers",
    "providers_flagged",
    "recall_design_effect",
    "recall_low",
    "recall_high",
)
# Provider rings by the trace a ring claim had when it was billed: the member's new providers of
# the 30 days before (point in time). A member's first ring visit has no tour behind it yet, only
# its provider's network; a second one has a single new provider behind it, as many honest
# members do. The recall on each level shows where a model loses a ring.
TRACE_SCHEME = "provider_ring"
TRACE_INPUT = "member_new_providers_prior_30d"
TRACE_LEVELS = ("0", "1", "2+")
IMPORTANCE_ROWS = 5_000  # claims of the training population's window for mean |SHAP|
BASELINE = "isolation_forest"
TRANSFER_TOLERANCE = 0.05  # a population's PR-AUC this close to the training one's: transferred
TRANSFER_DRAWS = 200  # provider bootstrap draws of each PR-AUC of the transfer matrix
TRANSFER_CONFIDENCE = 0.95
ML_MODELS_YAML = Path("models/ml/_ml__models.yml")
TRAINING_MODEL = "ml_training_runs"


def project_training_config(root: Path | None = None) -> TrainingConfig:
    """The hyperparameters the training job trains with: ``meta.training.training`` of
    ``ml_training_runs`` in models/ml/_ml__models.yml (defaults for what it leaves out)."""
    path = (root or find_project_root()) / ML_MODELS_YAML
    models = {m["name"]: m for m in (yaml.safe_load(path.read_text()) or {}).get("models", [])}
    if TRAINING_MODEL not in models:
        raise ValueError(f"{path}: no model named {TRAINING_MODEL}")
    meta = (models[TRAINING_MODEL].get("config") or {}).get("meta") or {}
    return TrainingConfig.from_dict((meta.get("training") or {}).get("training") or {})


@dataclass(frozen=True)
class Population:
    """One generated population: its feature rows, SIU investigations and ground truth
    (``claim_id``, ``is_fraud``, ``scheme``)."""

    seed: int
    features: pd.DataFrame
    investigations: pd.DataFrame
    ground_truth: pd.DataFrame


@dataclass(frozen=True)
class PopulationReport:
    """One row per (population, model, training population) in ``quality`` (``kept``: the
    flavour the training job keeps; ``trained_on``: the seed the model was trained or fitted on,
    a held-out population's own for its own model's row); the kept model's flavour, the
    evaluation window and its top inputs by mean |SHAP| on the training population; ``trace``:
    the kept model's recall of each population's ring claims per ``TRACE_LEVELS``
    (:func:`trace_recall`); ``flags``: the kept model's scores of each population's window
    (``seed``, ``claim_id``, ``fraud_probability``, ``is_flagged``), for the SIU's member
    tours (:func:`case_recall`); ``transfer``: the model each population keeps (the training
    population's, each held-out one's own) judged on every population (:func:`transfer_gaps`)."""

    quality: pd.DataFrame
    flavour: str
    window_start: object
    window_end: object
    importance: pd.Series
    trace: pd.DataFrame
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    transfer: pd.DataFrame = field(default_factory=pd.DataFrame)

    def scheme_columns(self) -> list[str]:
        """The recall column of each scheme (``recall__SCHEME``); ``claims__``, ``providers__``,
        ``providers_flagged__``, ``recall_design_effect__``, ``recall_low__`` and
        ``recall_high__`` SCHEME hold its count of fraudulent claims in the window, the
        rendering providers they come from, how many of those have at least one of them
        flagged, and the recall's interval (:func:`clustered_recall_interval`)."""
        return [c for c in self.quality.columns if c.startswith("recall__")]


def _window(features: pd.DataFrame, split: Split) -> pd.DataFrame:
    return claim_windows(features, split)[1]


def split_on_dates(labelled: pd.DataFrame, dates: Split) -> Split:
    """``labelled`` (another population's labelled claims) split on the dates of ``dates``:
    train before its validation window, validation inside it. Raises ValueError when a side
    is empty or holds a single class."""
    train, valid = claim_windows(labelled, dates)
    for side, frame in (("train", train), ("validation", valid)):
        if frame[LABEL].nunique() < 2:
            raise ValueError(
                f"the {side} side of the window {dates.validation_start} .. "
                f"{dates.validation_end} has {len(frame)} labelled claims of a single class"
            )
    return Split(train, valid, dates.validation_start, dates.validation_end)


def own_model(
    population: Population, dates: Split, spec: FeatureSpec, config: TrainingConfig
) -> Candidate:
    """The model a held-out population would have had: both flavours trained on its own SIU
    labels before the window of ``dates``, the better on its labels inside it kept, as the
    training job keeps one."""
    features = population.features.sort_values("claim_id", kind="stable", ignore_index=True)
    labelled = label_claims(features, population.investigations)
    try:
        split = split_on_dates(labelled, dates)
    except ValueError as exc:
        raise ValueError(f"population of seed {population.seed}: {exc}") from exc
    return best_candidate(train_candidates(split, spec, config))


def ground_truth_quality(
    window: pd.DataFrame, scores: np.ndarray, ground_truth: pd.DataFrame, flag_budget: float
) -> dict[str, float]:
    """PR-AUC, recall at the budget and recall per scheme of ``scores`` against the truth, on
    every claim of ``window`` (claims missing from the truth count as clean). With a
    ``rendering_npi`` column, each scheme's count of providers too, and of those with at least
    one of the scheme's claims flagged (one flag opens the SIU's case on a provider), and the
    recall's interval widened by the design effect of those providers
    (:func:`clustered_recall_interval`): a scheme's claims come from a few providers, so its
    recall is less certain than its claim count suggests."""
    truth = _truth(window, ground_truth)
    is_fraud = truth["is_fraud"].to_numpy()
    metrics = classification_metrics(is_fraud.astype(int), scores, flag_budget, probabilities=False)
    flagged = flag_top(scores, flag_budget)
    row = {
        "claims": float(len(window)),
        "fraud_claims": float(is_fraud.sum()),
        "pr_auc": float(metrics["pr_auc"]),
        "recall_at_budget": float(is_fraud[flagged].sum() / max(is_fraud.sum(), 1)),
    }
    if "rendering_npi" in window.columns:
        row.update(provider_quality(window["rendering_npi"], is_fraud, scores, flagged))
    schemes = truth["scheme"].where(is_fraud)
    for scheme in per_scheme_recall(schemes, flagged).itertuples():
        row[f"recall__{scheme.scheme}"] = float(scheme.recall)
        of_scheme = (schemes == scheme.scheme).to_numpy()
        row[f"claims__{scheme.scheme}"] = float(scheme.claims)
        if "rendering_npi" in window.columns:
            npi = window["rendering_npi"].to_numpy()
            row[f"providers__{scheme.scheme}"] = float(pd.unique(npi[of_scheme]).size)
            row[f"providers_flagged__{scheme.scheme}"] = float(
                pd.unique(npi[of_scheme & flagged]).size
            )
            per_provider = pd.DataFrame(
                {"npi": npi[of_scheme], "flagged": flagged[of_scheme].astype(float)}
            ).groupby("npi", sort=False, dropna=False)["flagged"]
            low, high, effect = clustered_recall_interval(
                per_provider.sum().to_numpy(), per_provider.count().to_numpy(float)
            )
        else:  # no providers: the claims as one cluster, the plain Wilson interval
            low, high, effect = clustered_recall_interval(
                np.array([flagged[of_scheme].sum()]), np.array([of_scheme.sum()])
            )
        row[f"recall_design_effect__{scheme.scheme}"] = effect
        row[f"recall_low__{scheme.scheme}"] = low
        row[f"recall_high__{scheme.scheme}"] = high
    return row


def provider_quality(
    providers: pd.Series, is_fraud: np.ndarray, scores: np.ndarray, flagged: np.ndarray
) -> dict[str, float]:
    """Quality as the SIU works it, by provider case: ``provider_pr_auc``, the PR-AUC of the
    providers ranked by their highest-scored claim against whether any of their claims is
    fraudulent; ``provider_precision``, the share of the providers with a flagged claim that
    have a fraudulent one (a flagged clean claim of a fraudulent provider still opens the right
    case); ``providers``, ``fraud_providers`` and ``flagged_providers``, their counts."""
    per = (
        pd.DataFrame(
            {"npi": providers.to_numpy(), "fraud": is_fraud, "score": scores, "flag": flagged}
        )
        .groupby("npi", sort=False, dropna=False)
        .max()
    )
    ranked = classification_metrics(
        per["fraud"].astype(int), per["score"], 1.0, probabilities=False
    )
    opened = per[per["flag"]]
    return {
        "provider_pr_auc": float(ranked["pr_auc"]),
        "provider_precision": float(opened["fraud"].mean()) if len(opened) else float("nan"),
        "providers": float(len(per)),
        "fraud_providers": float(per["fraud"].sum()),
        "flagged_providers": float(len(opened)),
    }


def _truth(window: pd.DataFrame, ground_truth: pd.DataFrame) -> pd.DataFrame:
    """``is_fraud`` (False where the truth lacks the claim) and ``scheme`` of each claim of
    ``window``, in its order."""
    truth = window[["claim_id"]].merge(
        ground_truth[["claim_id", "is_fraud", "scheme"]], on="claim_id", how="left"
    )
    return truth.assign(is_fraud=truth["is_fraud"].fillna(False).astype(bool))


def clustered_recall_interval(
    flagged: np.ndarray, claims: np.ndarray, confidence: float = RECALL_CONFIDENCE
) -> tuple[float, float, float]:
    """The Wilson interval of a recall whose claims come in clusters (a scheme's claims from a
    few providers): ``flagged`` and ``claims`` per cluster. Returns (low, high, design effect).

    The recall R = sum(flagged) / sum(claims) is a ratio estimator; its cluster-robust variance
    is k / (k - 1) * sum((flagged_i - R claims_i)^2) / n^2 over the k clusters of n claims.
    The design effect is that over the binomial R (1 - R) / n, at least 1 (clustering never
    makes a recall surer than independent claims would); the interval is Wilson's on the
    effective n / effect claims. With one cluster, or R at 0 or 1, nothing measures the
    spread between clusters: the effect is 1 and the interval the plain Wilson one (too
    narrow then: one provider's claims stand or fall together)."""
    flagged, claims = np.asarray(flagged, float), np.asarray(claims, float)
    n = float(claims.sum())
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    recall = float(flagged.sum()) / n
    effect = 1.0
    if claims.size >= 2 and 0.0 < recall < 1.0:
        between = claims.size / (claims.size - 1) * float(((flagged - recall * claims) ** 2).sum())
        effect = max(1.0, between / n**2 / (recall * (1.0 - recall) / n))
    effective = n / effect
    z = float(norm.ppf(0.5 + confidence / 2))
    shrink = 1.0 + z * z / effective
    centre = (recall + z * z / (2 * effective)) / shrink
    half = z * np.sqrt(recall * (1 - recall) / effective + z * z / (4 * effective**2)) / shrink
    return max(0.0, centre - half), min(1.0, centre + half), effect


def trace_recall(
    window: pd.DataFrame, flagged: np.ndarray, ground_truth: pd.DataFrame
) -> list[dict[str, object]]:
    """Claims and recall of the ``TRACE_SCHEME`` claims of ``window`` (flags ``flagged``, in the
    window's order) at each level of ``TRACE_INPUT``: 0, 1, 2 or more (a missing value is 0,
    as the features write it); recall is NaN at a level without claims."""
    truth = window[["claim_id", TRACE_INPUT]].merge(
        ground_truth[["claim_id", "scheme"]], on="claim_id", how="left"
    )
    of_scheme = (truth["scheme"] == TRACE_SCHEME).to_numpy()
    counts = np.floor(truth[TRACE_INPUT].fillna(0).to_numpy(float))
    level = np.clip(counts, 0, len(TRACE_LEVELS) - 1)
    rows: list[dict[str, object]] = []
    for number, name in enumerate(TRACE_LEVELS):
        here = of_scheme & (level == number)
        recall = float(flagged[here].mean()) if here.any() else float("nan")
        rows.append({TRACE_INPUT: name, "claims": int(here.sum()), "recall": recall})
    return rows


def case_recall(
    flags: pd.DataFrame,
    tour_claims: pd.Series,
    ground_truth: pd.DataFrame,
    scheme: str = TRACE_SCHEME,
) -> dict[str, float]:
    """The SIU's reach on a scheme's claims of a window: ``claims`` (of ``flags``, the window's
    scores), ``flagged`` (the recall of the flags) and ``flagged_or_on_tour`` (flagged, or a
    stop of a flagged claim's member tour: ``tour_claims``, the claim_id column of
    siu_member_tours, reviewed with the claim that opened the case); and what the tours cost:
    ``tour_claims_added``, their claims not flagged themselves (in the window or not), and
    ``tour_claims_added_of_scheme``, how many of those are the scheme's."""
    of_truth = set(ground_truth.loc[ground_truth["scheme"] == scheme, "claim_id"])
    on_tour = set(tour_claims)
    added = on_tour - set(flags.loc[flags["is_flagged"].astype(bool), "claim_id"])
    row = {
        "tour_claims_added": float(len(added)),
        "tour_claims_added_of_scheme": float(len(added & of_truth)),
    }
    of_scheme = flags[flags["claim_id"].isin(of_truth)]
    if of_scheme.empty:
        return {"claims": 0.0, "flagged": float("nan"), "flagged_or_on_tour": float("nan"), **row}
    flagged = of_scheme["is_flagged"].astype(bool)
    reached = flagged | of_scheme["claim_id"].isin(on_tour)
    return {
        "claims": float(len(of_scheme)),
        "flagged": float(flagged.mean()),
        "flagged_or_on_tour": float(reached.mean()),
        **row,
    }


def evaluate_populations(
    train: Population,
    others: Sequence[Population],
    config: TrainingConfig | None = None,
    spec: FeatureSpec | None = None,
) -> PopulationReport:
    """Train on ``train`` (as the training job does, with its hyperparameters unless ``config``
    is given), judge on ``train`` and ``others``."""
    config = config or project_training_config()
    spec = spec or load_feature_spec()
    features = train.features.sort_values("claim_id", kind="stable", ignore_index=True)
    split = time_split(label_claims(features, train.investigations), config.validation_share)
    candidates = train_candidates(split, spec, config)
    model = best_candidate(candidates)
    kept_first = [model, *(c for c in candidates if c is not model)]
    train_window, _ = claim_windows(features, split)
    train_matrix = feature_matrix(train_window, spec)

    windows = {}
    for population in (train, *others):
        window = _window(population.features.sort_values("claim_id", ignore_index=True), split)
        if window.empty:
            raise ValueError(
                f"population of seed {population.seed} has no claims in the evaluation window "
                f"{split.validation_start} .. {split.validation_end}: generate it over the "
                "same dates as the training population"
            )
        windows[population.seed] = window
    # The model each held-out population would keep had it trained: the transfer matrix's rows.
    owns = {p.seed: own_model(p, split, spec, config) for p in others}
    keeps = {train.seed: model, **owns}

    rows: list[dict[str, object]] = []
    transfer: list[dict[str, object]] = []
    draws: dict[tuple[int, int], np.ndarray] = {}
    trace: list[dict[str, object]] = []
    flags: list[pd.DataFrame] = []
    importance = pd.Series(dtype=float)
    for role, population in (("training", train), *(("held out", p) for p in others)):
        window = windows[population.seed]
        matrix = feature_matrix(window, spec)
        scores = {
            (c.flavour, train.seed): predict_probability(c.flavour, c.model, matrix)
            for c in kept_first
        }
        scores[BASELINE, train.seed] = isolation_forest_baseline(train_matrix, matrix, config.seed)
        if population.seed in owns:
            own = owns[population.seed]
            scores[own.flavour, population.seed] = predict_probability(
                own.flavour, own.model, matrix
            )
        judged = {}
        for (name, trained_on), values in scores.items():
            judged[name, trained_on] = ground_truth_quality(
                window, values, population.ground_truth, config.flag_budget
            )
            rows.append(
                {
                    "seed": population.seed,
                    "population": role,
                    "model": name,
                    "kept": name == model.flavour and trained_on == train.seed,
                    "trained_on": trained_on,
                    **judged[name, trained_on],
                }
            )
        is_fraud = _truth(window, population.ground_truth)["is_fraud"].to_numpy(int)
        providers = window["rendering_npi"] if "rendering_npi" in window else window["claim_id"]
        for trained_on, kept in keeps.items():
            values = scores.get((kept.flavour, trained_on))
            if values is None:  # another held-out population's own model
                values = predict_probability(kept.flavour, kept.model, matrix)
                judged[kept.flavour, trained_on] = ground_truth_quality(
                    window, values, population.ground_truth, config.flag_budget
                )
            cell = judged[kept.flavour, trained_on]
            transfer.append(
                {
                    "trained_on": trained_on,
                    "flavour": kept.flavour,
                    "seed": population.seed,
                    "pr_auc": cell["pr_auc"],
                    "recall_at_budget": cell["recall_at_budget"],
                }
            )
            # the same provider draws of a population for every model judged on it
            draws[trained_on, population.seed] = provider_bootstrap_pr_auc(
                is_fraud, values, providers, TRANSFER_DRAWS, seed=population.seed
            )
        flagged = flag_top(scores[model.flavour, train.seed], config.flag_budget)
        flags.append(
            pd.DataFrame(
                {
                    "seed": population.seed,
                    "claim_id": window["claim_id"].to_numpy(),
                    "fraud_probability": scores[model.flavour, train.seed].astype("float64"),
                    "is_flagged": flagged,
                }
            )
        )
        trace.extend(
            {"seed": population.seed, "population": role, **level}
            for level in trace_recall(window, flagged, population.ground_truth)
        )
        if role == "training":
            values, _ = contributions(model.flavour, model.model, matrix.head(IMPORTANCE_ROWS))
            importance = values.abs().mean(axis=0).sort_values(ascending=False)
    quality = pd.DataFrame(rows)
    per_scheme = sorted(
        c for c in quality.columns if "__" in c and c.split("__")[0] in SCHEME_FIGURES
    )
    fixed = [c for c in quality.columns if c not in per_scheme]
    return PopulationReport(
        quality=quality[fixed + per_scheme],
        flavour=model.flavour,
        window_start=split.validation_start,
        window_end=split.validation_end,
        importance=importance,
        trace=pd.DataFrame(trace),
        flags=pd.concat(flags, ignore_index=True),
        transfer=transfer_gaps(pd.DataFrame(transfer), draws),
    )


def transfer_gaps(
    transfer: pd.DataFrame, draws: Mapping[tuple[int, int], np.ndarray] | None = None
) -> pd.DataFrame:
    """``transfer`` (``trained_on``, ``seed``, ``pr_auc``, ...) with ``gap``: a model's PR-AUC on
    population ``seed`` minus its PR-AUC on the population it trained on (``trained_on``; 0 on
    the diagonal); ``within``: the gap no worse than -``TRANSFER_TOLERANCE``.

    With ``draws`` ({(trained_on, seed): PR-AUC of each provider bootstrap draw}, see
    :func:`~claims_fraud.ml.evaluate.provider_bootstrap_pr_auc`), the ``TRANSFER_CONFIDENCE``
    percentile intervals of each PR-AUC (``pr_auc_low``, ``pr_auc_high``) and of each gap off
    the diagonal (``gap_low``, ``gap_high``: draw i of the cell minus draw i of the model's own
    population, the two populations drawn independently); ``below``: the whole gap interval
    under -``TRANSFER_TOLERANCE``, a miss the populations' providers cannot explain. Raises
    ValueError when a model was not judged on its own population."""
    home = transfer[transfer["trained_on"] == transfer["seed"]].set_index("trained_on")["pr_auc"]
    missing = sorted(set(transfer["trained_on"]) - set(home.index))
    if missing:
        raise ValueError(f"no PR-AUC of the model trained on seed(s) {missing} on its own data")
    gap = transfer["pr_auc"] - transfer["trained_on"].map(home)
    out = transfer.assign(gap=gap, within=gap >= -TRANSFER_TOLERANCE - 1e-12)
    if draws is None:
        return out
    tail = (1 - TRANSFER_CONFIDENCE) / 2
    intervals = []
    for trained_on, seed in zip(out["trained_on"], out["seed"], strict=True):
        cell = draws[trained_on, seed]
        low, high = np.nanquantile(cell, [tail, 1 - tail])
        gap_low = gap_high = float("nan")
        if trained_on != seed:
            gaps = cell - draws[trained_on, trained_on]
            gap_low, gap_high = np.nanquantile(gaps, [tail, 1 - tail])
        intervals.append((low, high, gap_low, gap_high))
    bounds = pd.DataFrame(
        intervals, columns=["pr_auc_low", "pr_auc_high", "gap_low", "gap_high"], index=out.index
    )
    return pd.concat([out, bounds], axis=1).assign(
        below=lambda frame: frame["gap_high"] < -TRANSFER_TOLERANCE
    )


def own_gaps(quality: pd.DataFrame) -> pd.DataFrame:
    """Per held-out population: the kept model's PR-AUC, its own model's, and the kept one's
    minus the own one's (``gap``: what training on another population cost)."""
    held = quality[quality["population"] == "held out"]
    kept = held[held["kept"]].set_index("seed")["pr_auc"]
    own = held[held["trained_on"] == held["seed"]].set_index("seed")["pr_auc"]
    both = pd.DataFrame({"kept": kept, "own": own}).dropna()
    return both.assign(gap=both["kept"] - both["own"])
