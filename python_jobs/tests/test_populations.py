"""claims_fraud.ml.populations: train on one population, judge on others against the truth."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from ml_fixtures import synthetic_claims

from claims_fraud.ml.population_report import format_cases, format_report, format_transfer
from claims_fraud.ml.populations import (
    BASELINE,
    Population,
    case_recall,
    clustered_recall_interval,
    evaluate_populations,
    ground_truth_quality,
    own_gaps,
    split_on_dates,
    trace_recall,
    transfer_gaps,
)
from claims_fraud.ml.train import TrainingConfig

CONFIG = TrainingConfig(max_rounds=60, early_stopping_rounds=10)


def population(
    seed: int, n: int = 3_000, schemes: tuple[str, str] = ("alpha", "beta")
) -> Population:
    """A synthetic feature frame (learnable label), half its claims investigated, and a ground
    truth whose fraudulent claims are split over two schemes."""
    features = synthetic_claims(n, seed)
    label = features.pop("label").to_numpy()
    rng = np.random.default_rng(seed)
    features["rendering_npi"] = [f"N{i}" for i in rng.integers(0, 40, n)]
    investigated = rng.random(n) < 0.5
    investigations = pd.DataFrame(
        {
            "claim_id": features.loc[investigated, "claim_id"].to_numpy(),
            "outcome": np.where(label[investigated] == 1, "confirmed_fraud", "no_fraud"),
            "investigation_closed_date": [
                d + timedelta(days=30) for d in features.loc[investigated, "claim_start_date"]
            ],
        }
    )
    scheme = np.where(label == 1, np.where(rng.random(n) < 0.5, *schemes), None)
    truth = pd.DataFrame(
        {"claim_id": features["claim_id"], "is_fraud": label == 1, "scheme": scheme}
    )
    return Population(seed, features, investigations, truth)


def test_ground_truth_quality_counts_recall_per_scheme_at_the_budget() -> None:
    window = pd.DataFrame({"claim_id": [f"C{i}" for i in range(20)]})
    truth = pd.DataFrame(
        {
            "claim_id": ["C0", "C1", "C2", "C3"],
            "is_fraud": [True, True, True, False],
            "scheme": ["alpha", "alpha", "beta", None],
        }
    )
    scores = np.linspace(0.0, 1.0, 20)[::-1].copy()  # C0 highest
    # a 10% budget flags C0 and C1: both alpha claims, not the beta one
    quality = ground_truth_quality(window, scores, truth, flag_budget=0.10)
    assert quality["claims"] == 20
    assert quality["fraud_claims"] == 3
    assert quality["recall_at_budget"] == pytest.approx(2 / 3)
    assert quality["recall__alpha"] == 1.0
    assert quality["recall__beta"] == 0.0
    # each recall comes with its count and its 95 % Wilson interval: 2 of 2 alpha claims
    # flagged is [0.34, 1], 0 of 1 beta claim [0, 0.79] (z = 1.96: p +- z sqrt(...) / (1 + z^2/n))
    assert (quality["claims__alpha"], quality["claims__beta"]) == (2, 1)
    z2 = 1.959964**2
    assert quality["recall_low__alpha"] == pytest.approx(2 / (2 + z2), abs=1e-6)
    assert quality["recall_high__alpha"] == pytest.approx(1.0)
    assert quality["recall_low__beta"] == pytest.approx(0.0, abs=1e-12)
    assert quality["recall_high__beta"] == pytest.approx(z2 / (1 + z2), abs=1e-6)
    # a claim missing from the truth counts as clean: the same figures with a shorter truth
    assert ground_truth_quality(window, scores, truth.head(3), 0.10) == quality
    # with the claims' providers: how many providers each scheme's claims come from
    assert "providers__alpha" not in quality
    window["rendering_npi"] = ["N1", "N1", "N2"] + ["N9"] * 17
    by_provider = ground_truth_quality(window, scores, truth, 0.10)
    assert (by_provider["providers__alpha"], by_provider["providers__beta"]) == (1, 1)
    # C0 and C1 (N1, alpha) are flagged, C2 (N2, beta) is not: N1 has a flag, N2 none
    assert (by_provider["providers_flagged__alpha"], by_provider["providers_flagged__beta"]) == (
        1,
        0,
    )
    assert by_provider["recall__alpha"] == quality["recall__alpha"]
    # one provider, every claim flagged: nothing measures a spread, the plain Wilson interval
    assert by_provider["recall_design_effect__alpha"] == 1.0
    assert by_provider["recall_low__alpha"] == quality["recall_low__alpha"]
    # by provider case: N1 and N2 (fraudulent) outrank N9 (clean); the flags open N1 only
    assert "provider_pr_auc" not in quality
    assert by_provider["provider_pr_auc"] == 1.0
    assert (by_provider["fraud_providers"], by_provider["providers"]) == (2, 3)
    assert by_provider["flagged_providers"] == 1
    assert by_provider["provider_precision"] == 1.0
    # a clean claim of N9 scored highest: N9 ranks first (AP (1/2 + 2/3) / 2) and is opened
    scores[5] = 2.0
    clean_first = ground_truth_quality(window, scores, truth, 0.10)
    assert clean_first["provider_pr_auc"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert clean_first["flagged_providers"] == 2
    assert clean_first["provider_precision"] == 0.5


def test_a_recalls_interval_widens_with_the_design_effect_of_its_providers() -> None:
    from scipy.stats import binomtest

    # one cluster: scipy's Wilson interval (the oracle), design effect 1
    low, high, effect = clustered_recall_interval(np.array([7.0]), np.array([20.0]))
    wilson = binomtest(7, 20).proportion_ci(confidence_level=0.95, method="wilson")
    assert (low, high, effect) == (pytest.approx(wilson.low), pytest.approx(wilson.high), 1.0)
    # independent claims (one per cluster): the cluster-robust variance is the binomial one
    # times k / (k - 1)
    singles = np.array([1.0] * 7 + [0.0] * 13)
    assert clustered_recall_interval(singles, np.ones(20))[2] == pytest.approx(20 / 19)
    # two providers of 10 claims, one all flagged, one none: k / (k - 1) x (1 + (m - 1) ICC)
    # with an intra-provider correlation of 1, 2 x 10
    low, high, effect = clustered_recall_interval(np.array([10.0, 0.0]), np.array([10.0, 10.0]))
    assert effect == pytest.approx(20.0)
    assert (low < 0.1, high > 0.9) == (True, True)  # 20 claims that weigh as one
    # four providers, a spread between them: Wilson's on the effective number of claims
    flagged, claims = np.array([9.0, 2.0, 6.0, 1.0]), np.array([10.0, 12.0, 8.0, 10.0])
    low, high, effect = clustered_recall_interval(flagged, claims)
    recall, effective = flagged.sum() / claims.sum(), claims.sum() / effect
    assert effect > 1
    same = clustered_recall_interval(np.array([recall * effective]), np.array([effective]))
    assert (low, high) == (pytest.approx(same[0]), pytest.approx(same[1]))
    plain = clustered_recall_interval(np.array([flagged.sum()]), np.array([claims.sum()]))
    assert low < plain[0] < recall < plain[1] < high
    # every provider at the same rate: no wider than independent claims
    assert clustered_recall_interval(np.array([5.0, 5.0]), np.array([10.0, 10.0]))[2] == 1.0


def test_ring_recall_is_split_by_the_members_earlier_new_providers() -> None:
    window = pd.DataFrame(
        {
            "claim_id": ["R1", "R2", "R3", "R4", "R5", "C1"],
            # R1 a first ring visit (missing history reads 0 as in the features), R3 a second
            "member_new_providers_prior_30d": [np.nan, 0, 1, 2, 5, 3],
        }
    )
    truth = pd.DataFrame(
        {
            "claim_id": ["R1", "R2", "R3", "R4", "R5", "C1"],
            "is_fraud": [True] * 5 + [True],
            "scheme": ["provider_ring"] * 5 + ["upcoding"],
        }
    )
    flagged = np.array([False, True, False, True, False, True])
    rows = trace_recall(window, flagged, truth)
    assert [r["member_new_providers_prior_30d"] for r in rows] == ["0", "1", "2+"]
    assert [r["claims"] for r in rows] == [2, 1, 2]  # the upcoding claim is no ring's
    assert [r["recall"] for r in rows] == [0.5, 0.0, 0.5]
    # no ring claim at a level: no recall to give
    assert np.isnan(trace_recall(window.head(2), flagged[:2], truth)[1]["recall"])


def test_trains_on_one_population_and_judges_every_one_next_to_the_baseline() -> None:
    report = evaluate_populations(population(1), [population(2), population(3)], CONFIG)
    quality = report.quality
    # per population: the flavour the training job keeps, the other flavour, the baseline, and
    # for a held-out population its own model (trained on its labels)
    assert list(quality["seed"]) == [1] * 3 + [2] * 4 + [3] * 4
    assert list(quality["population"]) == ["training"] * 3 + ["held out"] * 8
    assert list(quality["trained_on"]) == [1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3]
    assert list(quality.columns[:9]) == [
        "seed",
        "population",
        "model",
        "kept",
        "trained_on",
        "claims",
        "fraud_claims",
        "pr_auc",
        "recall_at_budget",
    ]
    assert set(quality["model"]) == {"xgboost", "catboost", BASELINE}
    kept = quality[quality["kept"]]
    assert list(kept["model"]) == [report.flavour] * 3
    assert list(kept["trained_on"]) == [1, 1, 1]
    own = quality[quality["trained_on"] != 1]
    assert set(own["model"]) <= {"xgboost", "catboost"}
    # the same generator and label rule: a population's own model does about as well
    gaps = own_gaps(quality)
    assert list(gaps.index) == [2, 3]
    assert np.allclose(gaps["gap"], gaps["kept"] - gaps["own"])
    assert (gaps["gap"].abs() < 0.1).all(), gaps
    quality = quality[quality["trained_on"] == 1]
    assert list(quality["model"][::3]) == [report.flavour] * 3  # the kept one first
    # the label is learnable from the inputs: the model beats the anomaly baseline everywhere
    by_model = quality.pivot(index="seed", columns="model", values="pr_auc")
    for flavour in ("xgboost", "catboost"):
        assert (by_model[flavour] > by_model[BASELINE] + 0.1).all(), by_model
    # every population is judged on the training population's validation window
    assert report.window_start <= report.window_end
    assert not report.importance.empty
    assert report.importance.index[0] in population(1).features.columns
    # no ring in these populations: three empty levels each, and nothing printed for them
    assert list(report.trace["seed"]) == [1] * 3 + [2] * 3 + [3] * 3
    assert (report.trace["claims"] == 0).all()
    text = format_report(report)
    assert "provider_ring claims by" not in text
    for part in ("held out", "alpha", "top inputs", "interval", f"{report.flavour} (kept)"):
        assert part in text
    assert re.search(r"(xgboost|catboost) \(own\)", text), text
    assert f"seed 2: {gaps.loc[2, 'kept']:.3f} against {gaps.loc[2, 'own']:.3f}" in text
    # the transfer matrix: each population's kept model on every population, the training
    # population's row the kept model's rows of the table above, the others their own models'
    transfer = report.transfer.set_index(["trained_on", "seed"])
    assert sorted(transfer.index) == [(t, s) for t in (1, 2, 3) for s in (1, 2, 3)]
    for seed in (1, 2, 3):
        assert transfer.loc[(1, seed), "pr_auc"] == kept.set_index("seed").loc[seed, "pr_auc"]
    for seed in (2, 3):
        assert transfer.loc[(seed, seed), "pr_auc"] == gaps.loc[seed, "own"]
        assert transfer.loc[(1, seed), "gap"] == pytest.approx(
            transfer.loc[(1, seed), "pr_auc"] - transfer.loc[(1, 1), "pr_auc"]
        )
    # each PR-AUC with its interval over the population's providers, each gap with its own
    assert (transfer["pr_auc_low"] <= transfer["pr_auc_high"]).all()
    off = transfer[transfer.index.get_level_values(0) != transfer.index.get_level_values(1)]
    assert (off["gap_low"] <= off["gap_high"]).all()
    assert (off["gap_high"] - off["gap_low"] > 0).all()
    assert "pairs within 0.05 of the PR-AUC where the model trained: " in text
    # and by provider case, with each population's fraudulent providers
    # (NaN where every provider has a fraudulent claim: nothing to rank them against)
    one_class = quality["fraud_providers"] == quality["providers"]
    assert quality["provider_pr_auc"].isna().equals(one_class)
    assert quality.loc[~one_class, "provider_pr_auc"].between(0, 1).all()
    assert (kept["fraud_providers"] <= kept["providers"]).all()
    assert "prov PR" in text
    assert f"seed 1: {kept['fraud_providers'].iloc[0]:,.0f} of 40" in text
    assert "below it beyond the interval: " in text
    # every scheme's recall has its count and an interval around it
    for scheme in ("alpha", "beta"):
        assert (quality[f"claims__{scheme}"] > 0).all()
        assert (quality[f"recall_low__{scheme}"] <= quality[f"recall__{scheme}"]).all()
        assert (quality[f"recall__{scheme}"] <= quality[f"recall_high__{scheme}"]).all()


def test_the_transfer_gap_is_against_the_models_own_population_and_counts_the_misses() -> None:
    transfer = pd.DataFrame(
        {
            "trained_on": [42, 42, 42, 7, 7, 7],
            "flavour": ["xgboost"] * 3 + ["catboost"] * 3,
            "seed": [42, 7, 2024, 42, 7, 2024],
            "pr_auc": [0.85, 0.81, 0.75, 0.86, 0.83, 0.78],
            "recall_at_budget": [0.5] * 6,
        }
    )
    gaps = transfer_gaps(transfer).set_index(["trained_on", "seed"])
    assert gaps.loc[(42, 2024), "gap"] == pytest.approx(-0.10)
    assert gaps.loc[(7, 42), "gap"] == pytest.approx(+0.03)
    assert gaps.loc[(7, 2024), "gap"] == pytest.approx(-0.05)
    assert gaps.loc[(42, 42), "gap"] == 0
    # -0.05 is within the tolerance, -0.10 is not; the diagonal is not counted
    assert list(gaps["within"]) == [True, True, False, True, True, True]
    text = "\n".join(format_transfer(transfer_gaps(transfer)))
    assert "pairs within 0.05 of the PR-AUC where the model trained: 3 of 4" in text
    assert re.search(r"42 xgboost +0\.850 +0\.810 \(-0\.040\) +0\.750 \(-0\.100\)", text), text
    with pytest.raises(ValueError, match=r"trained on seed\(s\) \[7\] on its own data"):
        transfer_gaps(transfer[transfer["seed"] != 7])
    # with the providers' bootstrap draws: each gap's interval is that of draw-wise differences
    spread = np.linspace(-0.05, 0.05, 41)
    draws = {
        (t, s): np.full(41, p) + spread
        for t, s, p in transfer[["trained_on", "seed", "pr_auc"]].itertuples(index=False)
    }
    draws[42, 42] = np.full(41, 0.85)
    draws[42, 2024] = np.append(np.linspace(0.60, 0.70, 41)[:-1], np.nan)  # a draw without fraud
    bounded = transfer_gaps(transfer, draws).set_index(["trained_on", "seed"])
    assert bounded.loc[(42, 2024), "gap_low"] == pytest.approx(-0.25 + 0.0975 * 0.025)
    assert bounded.loc[(42, 2024), "gap_high"] == pytest.approx(-0.25 + 0.0975 * 0.975)
    assert bounded.loc[(42, 7), ["gap_low", "gap_high"]].tolist() == pytest.approx(
        [-0.04 - 0.0475, -0.04 + 0.0475]
    )
    assert np.isnan(bounded.loc[(42, 42), "gap_low"])
    assert bounded.loc[(7, 7), "pr_auc_low"] == pytest.approx(0.83 - 0.0475)
    # a miss beyond its interval (42 -> 2024) is told from one the providers could explain
    assert list(bounded["below"]) == [False, False, True, False, False, False]
    text = "\n".join(format_transfer(transfer_gaps(transfer, draws)))
    assert "0.750 (-0.100 [-0.25, -0.15])" in text, text
    assert "3 of 4; below it beyond the interval: 1" in text


def test_the_report_prints_the_ring_recall_by_trace_when_rings_are_judged() -> None:
    rings = ("alpha", "provider_ring")
    report = evaluate_populations(
        population(1, schemes=rings), [population(2, schemes=rings)], CONFIG
    )
    assert list(report.trace["seed"]) == [1] * 3 + [2] * 3
    # every ring claim of each population's window is at one level
    kept = report.quality[report.quality["kept"]]
    by_seed = report.trace.groupby("seed")["claims"].sum()
    assert list(by_seed) == list(kept["claims__provider_ring"].astype(int))
    text = format_report(report)
    assert "provider_ring claims by the member's new providers" in text
    # each scheme's providers, and how many of them had a claim of the scheme flagged
    assert (kept["providers__provider_ring"] <= 40).all()
    assert (kept["providers_flagged__provider_ring"] <= kept["providers__provider_ring"]).all()
    assert re.search(r"provider_r \d+ \(\d+, \d+ flagged\) \[", text), text
    assert "2+: " in text


def test_a_population_outside_the_window_is_refused_naming_its_seed() -> None:
    late = population(4)
    moved = late.features.assign(
        claim_start_date=[d + timedelta(days=3_000) for d in late.features["claim_start_date"]]
    )
    other = Population(4, moved, late.investigations, late.ground_truth)
    with pytest.raises(ValueError, match="seed 4 has no claims in the evaluation window"):
        evaluate_populations(population(1), [other], CONFIG)
    assert moved["claim_start_date"].min() > date(2030, 1, 1)


def test_the_evaluation_trains_with_the_training_jobs_hyperparameters() -> None:
    import yaml

    from claims_fraud.features.reference import find_project_root
    from claims_fraud.ml.populations import ML_MODELS_YAML, project_training_config
    from claims_fraud.ml.training_job import TrainingSettings

    config = project_training_config()
    models = yaml.safe_load((find_project_root() / ML_MODELS_YAML).read_text())["models"]
    meta = next(m for m in models if m["name"] == "ml_training_runs")["config"]["meta"]
    # the training window's vars are rendered by dbt (Jinja here): not hyperparameters
    rendered = {k: v for k, v in meta["training"].items() if k != "window"}
    settings = TrainingSettings.from_mapping(rendered, config.flag_budget)
    assert settings.training == config
    assert config.catboost_params == {"depth": 8}


def test_a_held_out_populations_own_model_learns_its_own_labels() -> None:
    """A population whose SIU labels (and truth) say the opposite of the training one's: the
    model trained elsewhere ranks it backwards, its own model does not."""
    flipped = population(2)
    outcome = flipped.investigations["outcome"]
    investigations = flipped.investigations.assign(
        outcome=np.where(outcome == "confirmed_fraud", "no_fraud", "confirmed_fraud")
    )
    is_fraud = ~flipped.ground_truth["is_fraud"]
    truth = flipped.ground_truth.assign(is_fraud=is_fraud, scheme=np.where(is_fraud, "alpha", None))
    other = Population(2, flipped.features, investigations, truth)
    gaps = own_gaps(evaluate_populations(population(1), [other], CONFIG).quality)
    assert gaps.loc[2, "own"] > gaps.loc[2, "kept"] + 0.3, gaps


def test_another_population_is_split_on_the_training_populations_dates() -> None:
    from claims_fraud.ml.train import label_claims, time_split

    first, second = population(1), population(2)
    dates = time_split(label_claims(first.features, first.investigations), 0.2)
    split = split_on_dates(label_claims(second.features, second.investigations), dates)
    assert (split.validation_start, split.validation_end) == (
        dates.validation_start,
        dates.validation_end,
    )
    assert (pd.to_datetime(split.train["claim_start_date"]).dt.date < dates.validation_start).all()
    inside = pd.to_datetime(split.valid["claim_start_date"]).dt.date
    assert inside.between(dates.validation_start, dates.validation_end).all()
    one_class = label_claims(second.features, second.investigations).assign(label=0)
    with pytest.raises(ValueError, match=r"the train side of the window .* single class"):
        split_on_dates(one_class, dates)


def test_the_siu_reaches_a_ring_claim_flagged_or_on_a_flagged_claims_tour() -> None:
    flags = pd.DataFrame(
        {
            "claim_id": ["R1", "R2", "R3", "R4", "C1", "C2"],
            "is_flagged": [True, False, False, False, True, False],
        }
    )
    truth = pd.DataFrame(
        {
            "claim_id": ["R1", "R2", "R3", "R4", "R0", "U1"],
            "scheme": ["provider_ring"] * 5 + ["upcoding"],
        }
    )
    # R1's tour: R2 (in the window) and R0 (before it); C2, a clean claim, on C1's tour
    tours = pd.Series(["R2", "R0", "C2", "R2"])
    case = case_recall(flags, tours, truth)
    assert (case["claims"], case["flagged"]) == (4, 0.25)
    assert case["flagged_or_on_tour"] == 0.5  # R1 flagged, R2 on its tour; R3, R4 missed
    # the review the tours add: R2, R0 and C2, not flagged themselves; R2 and R0 ring claims
    assert (case["tour_claims_added"], case["tour_claims_added_of_scheme"]) == (3, 2)
    text = format_cases([{"seed": 7, **case}])
    assert "seed 7: 4 claims, flagged 0.250, with the tours 0.500 (3 claims added, 2 of" in text
    assert case_recall(flags, pd.Series([], dtype=object), truth)["flagged_or_on_tour"] == 0.25
    none = case_recall(flags, tours, truth.assign(scheme="upcoding"))
    assert none["claims"] == 0
    assert np.isnan(none["flagged_or_on_tour"])
