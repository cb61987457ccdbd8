"""`claims-fraud rollback` on a copy of the trained project: a real MLflow registry (the
training registered both candidates; one passed its gate and is @champion) and the real
ml_promotion_decisions table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from harness import DbtProject, trained_copy_with_two_versions

from claims_fraud.cli.main import main
from claims_fraud.ml.tracking import CHAMPION
from claims_fraud.warehouse.connections import DuckDBWarehouse

pytestmark = pytest.mark.integration


def _cli(project: DbtProject, *args: str) -> int:
    stores = ["--duckdb", str(project.duckdb_path), "--mlflow-dir", str(project.mlflow_dir)]
    return main(["rollback", *args, *stores])


def _decisions(project: DbtProject) -> pd.DataFrame:
    return DuckDBWarehouse(project.duckdb_path).read("ml_promotion_decisions")


def test_rollback_moves_the_champion_to_a_version_that_passed_its_gate_and_refuses_others(
    trained_project: DbtProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = trained_copy_with_two_versions(trained_project, tmp_path)
    project, client, name = state.project, state.client, state.classifier_name
    champion, other = state.champion, state.other
    before = _decisions(project)
    assert before["is_promoted"].sum() == 1  # the training's one promotion: the champion

    # The other candidate never passed its gate: refused, nothing changed; with no earlier
    # promoted version there is nothing to roll back to either.
    assert _cli(project, "--to-version", other, "--reason", "try it") == 2
    assert "never passed its promotion gate" in capsys.readouterr().err
    assert _cli(project, "--reason", "go back") == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    assert _cli(project, "--reason", "   ") == 2
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == champion
    assert len(_decisions(project)) == len(before)

    # Once it had passed its gate (an earlier promotion on record), the rollback goes to it.
    earlier = before.iloc[[0]].assign(
        decision_id="earlier",
        challenger_version=other,
        champion_version_after=other,
        decided_at=pd.Timestamp(datetime(2020, 1, 1)),
    )
    DuckDBWarehouse(project.duckdb_path).append("ml_promotion_decisions", earlier)
    autoencoder = client.get_model_version(name, other).tags.get("autoencoder_version")
    assert _cli(project, "--reason", "v flags twice the budget") == 0
    assert f"v{champion} -> v{other}" in capsys.readouterr().out
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == other
    if autoencoder:
        assert (
            str(client.get_model_version_by_alias(state.autoencoder_name, CHAMPION).version)
            == autoencoder
        )
    after = _decisions(project)
    row = after.loc[after["action"] == "rollback"]
    assert len(row) == 1
    assert row.iloc[0][
        ["champion_version_before", "champion_version_after", "reason"]
    ].tolist() == [
        champion,
        other,
        "v flags twice the budget",
    ]
    assert row.iloc[0]["decided_by"]
    assert (
        after.loc[after["decision_id"] != row.iloc[0]["decision_id"], "action"] != "rollback"
    ).all()

    # The current champion is refused as a target; the previous one (promoted by the
    # training) is where the next rollback goes.
    assert _cli(project, "--to-version", other, "--reason", "again") == 2
    assert "already is @champion" in capsys.readouterr().err
    assert _cli(project, "--to-version", f"v{champion}", "--reason", "audited model") == 0
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == champion
