"""Shadow scoring on a copy of the trained project: the registry's other candidate made
@challenger (registered by the training, never promoted), then the score slice's shadow model
and ml_shadow_comparison, checked against numpy."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from harness import DbtProject, trained_copy_with_two_versions

from claims_fraud.ml.tracking import CHALLENGER

pytestmark = pytest.mark.integration


def _frame(project: DbtProject, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(sql).df()


def psi_oracle(champion: np.ndarray, challenger: np.ndarray) -> float:
    """PSI of challenger vs champion on 10 bins cut at the champion's deciles (linear
    interpolation), a score in bin k when it is <= the k-th cut; 0.5 added to every count."""
    cuts = np.quantile(champion, np.arange(1, 10) / 10)
    bins = 10

    def shares(values: np.ndarray) -> np.ndarray:
        index = np.searchsorted(cuts, values, side="left")  # first cut >= value
        counts = np.bincount(index, minlength=bins).astype(float)
        return (counts + 0.5) / (len(values) + 0.5 * bins)

    p, q = shares(champion), shares(challenger)
    return float(np.sum((q - p) * np.log(q / p)))


def test_the_challenger_scores_each_batch_in_shadow_and_is_compared_with_the_champion(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    state = trained_copy_with_two_versions(trained_project, tmp_path)
    project, client, name = state.project, state.client, state.classifier_name
    champion, other = state.champion, state.other
    batch = _frame(project, "select distinct batch_id from main_ml.fraud_scores")["batch_id"][0]

    # The trained state's score build ran with the champion also @challenger: nothing was
    # shadowed, a typed table with 0 rows.
    assert project.scalar("select count(*) from main_ml.fraud_scores_shadow") == 0
    empty = _frame(project, "select * from main_ml.fraud_scores_shadow")
    assert list(empty.columns)[-1] == "model_alias"

    client.set_registered_model_alias(name, CHALLENGER, other)
    project.dbt(
        "build",
        "--select",
        "fraud_scores_shadow",
        "ml_shadow_comparison",
        "--vars",
        f"{{scoring_batch_id: {batch}}}",
    )
    shadow = _frame(project, "select * from main_ml.fraud_scores_shadow")
    scores = _frame(project, "select * from main_ml.fraud_scores")
    assert len(shadow) == len(scores) > 0
    assert set(shadow["model_version"]) == {other}
    assert set(shadow["model_alias"]) == {"challenger"}
    # the champion's own scores are untouched: still one version, its flags
    assert set(scores["model_version"]) == {champion}

    paired = scores.merge(shadow, on=["batch_id", "claim_id"], suffixes=("_a", "_b"))
    a, b = paired["is_flagged_a"].astype(bool), paired["is_flagged_b"].astype(bool)
    found = _frame(project, "select * from main_ml.ml_shadow_comparison").iloc[0]
    assert found["batch_id"] == batch
    assert (found["champion_version"], found["challenger_version"]) == (champion, other)
    assert found["n_claims"] == len(paired)
    assert (found["champion_flagged"], found["challenger_flagged"]) == (a.sum(), b.sum())
    assert found["both_flagged"] == (a & b).sum()
    assert found["flag_overlap"] == pytest.approx((a & b).sum() / (a | b).sum(), abs=1e-12)
    assert found["flag_agreement"] == pytest.approx((a == b).mean(), abs=1e-12)
    expected_psi = psi_oracle(
        paired["fraud_probability_a"].to_numpy(), paired["fraud_probability_b"].to_numpy()
    )
    assert found["score_psi"] == pytest.approx(expected_psi, abs=1e-9)

    outcomes = _frame(
        project, "select claim_id, outcome from main_staging.stg_claims__siu_investigation"
    )
    conclusive = outcomes[outcomes["outcome"].isin(["confirmed_fraud", "no_fraud"])]
    fraud = conclusive.groupby("claim_id")["outcome"].agg(lambda o: (o == "confirmed_fraud").any())
    labelled = paired.merge(fraud.rename("is_fraud"), left_on="claim_id", right_index=True)
    for side, flags in (("champion", "is_flagged_a"), ("challenger", "is_flagged_b")):
        rows = labelled[labelled[flags].astype(bool)]
        assert found[f"{side}_labelled_flagged"] == len(rows)
        assert found[f"{side}_precision"] == pytest.approx(rows["is_fraud"].mean(), abs=1e-12)
    assert found["status"] in ("ok", "warn")
