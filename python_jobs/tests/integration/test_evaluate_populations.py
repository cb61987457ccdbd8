"""`claims-fraud evaluate-populations` end to end: two small populations generated and built
with the project's own dbt, a model trained on one and judged on both, the report written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from dbt_env import PROJECT_ROOT, dbt_env

from claims_fraud.cli.main import main as cli_main

pytestmark = pytest.mark.integration


@pytest.mark.slow  # generates and builds two datasets of its own (make test-slow)
def test_trains_on_one_seed_and_reports_every_population(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in dbt_env(tmp_path / "dbt").items():
        if name.startswith("DBT_"):
            monkeypatch.setenv(name, value)
    out = tmp_path / "report.json"
    argv = [
        "evaluate-populations",
        "--train-seed", "11", "--eval-seeds", "12", "--lines", "40000",
        "--work-dir", str(tmp_path / "populations"), "--out", str(out),
        "--project-dir", str(PROJECT_ROOT),
    ]  # fmt: skip
    assert cli_main(argv) == 0
    report = json.loads(out.read_text())
    rows = {
        (row["seed"], row["model"]): row for row in report["quality"] if row["trained_on"] == 11
    }
    assert {seed for seed, _ in rows} == {11, 12}
    model = report["model"]
    # both flavours are judged, the one the training job keeps marked
    assert {name for _, name in rows} == {"xgboost", "catboost", "isolation_forest"}
    assert all(row["kept"] == (row["model"] == model) for row in rows.values())
    # and the held-out population by its own model, the gap to it written
    own = [row for row in report["quality"] if row["trained_on"] == 12]
    assert [(row["seed"], row["kept"]) for row in own] == [(12, False)]
    assert [gap["seed"] for gap in report["own_gaps"]] == [12]
    gap = report["own_gaps"][0]
    assert gap["own"] == own[0]["pr_auc"]
    assert gap["gap"] == pytest.approx(rows[(12, model)]["pr_auc"] - own[0]["pr_auc"])
    # the transfer matrix: the kept model and the held-out population's own on both
    transfer = {(row["trained_on"], row["seed"]): row for row in report["transfer"]}
    assert set(transfer) == {(11, 11), (11, 12), (12, 11), (12, 12)}
    assert transfer[(11, 12)]["pr_auc"] == rows[(12, model)]["pr_auc"]
    assert transfer[(12, 12)]["pr_auc"] == own[0]["pr_auc"]
    assert transfer[(12, 11)]["gap"] == pytest.approx(
        transfer[(12, 11)]["pr_auc"] - own[0]["pr_auc"]
    )
    for pair in ((11, 12), (12, 11)):
        assert transfer[pair]["gap_low"] < transfer[pair]["gap_high"]
        assert transfer[pair]["below"] == (transfer[pair]["gap_high"] < -0.05)
    for seed in (11, 12):
        assert rows[(seed, model)]["claims"] > 1_000
        assert rows[(seed, model)]["pr_auc"] > rows[(seed, "isolation_forest")]["pr_auc"]
    assert "is_out_of_state_provider" in report["importance"]
    printed = capsys.readouterr().out
    assert "held out" in printed
    assert "pairs within 0.05 of the PR-AUC where the model trained: " in printed
    # each population went through the project's SQL into a DuckDB file of its own
    for seed in (11, 12):
        assert (tmp_path / "populations" / f"seed-{seed}" / "claims_fraud.duckdb").exists()
    # the SIU's member tours built by the project's SQL on each population's flags
    cases = {case["seed"]: case for case in report["ring_cases"]}
    assert set(cases) == {11, 12}
    for seed, case in cases.items():
        window = rows[(seed, model)]["claims"]
        assert scored_claims(tmp_path, seed) == (window, "evaluation")
        if case["claims"] > 0:
            assert case["flagged"] <= case["flagged_or_on_tour"] <= 1
        assert case["tour_claims_added_of_scheme"] <= case["tour_claims_added"]
    assert "claims the SIU reaches" in printed
    # a second run reuses the generated data (same seed, size and generator version)
    manifest = tmp_path / "populations" / "seed-11" / "raw" / "_manifest.json"
    before = os.stat(manifest).st_mtime_ns
    assert cli_main(argv) == 0
    assert os.stat(manifest).st_mtime_ns == before
    # and its scores replace the first run's
    assert scored_claims(tmp_path, 11) == (rows[(11, model)]["claims"], "evaluation")


def scored_claims(tmp_path: Path, seed: int) -> tuple[int, str]:
    """The claims of a population's fraud_scores table and its one batch id."""
    database = tmp_path / "populations" / f"seed-{seed}" / "claims_fraud.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        count, batches, batch = con.execute(
            "select count(*), count(distinct batch_id), min(batch_id) from main_ml.fraud_scores"
        ).fetchone()
        assert con.execute("select count(*) from main_siu.siu_member_tours").fetchone()
    assert batches == 1
    return count, batch


def test_the_same_seed_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(
        ["evaluate-populations", "--train-seed", "5", "--eval-seeds", "5",
         "--work-dir", str(tmp_path)]
    )  # fmt: skip
    assert code == 2
    assert "the seeds must differ" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
