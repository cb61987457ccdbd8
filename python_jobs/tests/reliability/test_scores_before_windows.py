"""A fraud_scores table written before scoring batches carried their ingest window (no
window_start / window_end columns): monitoring stops with a message that names the table and
the step to run, and that step (the score build) adds the columns, after which monitoring
runs again. Nothing is rebuilt from scratch and no scored row is lost."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from harness import DbtProject, copy_trained_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_monitoring_an_old_scores_table_says_to_score_once_and_scoring_adds_the_columns(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    with duckdb.connect(str(project.duckdb_path)) as con:
        con.execute("alter table main_ml.fraud_scores drop column window_start")
        con.execute("alter table main_ml.fraud_scores drop column window_end")
        before = dict(
            con.execute(
                "select batch_id, count(*) from main_ml.fraud_scores group by batch_id"
            ).fetchall()
        )
    assert before.get("all_claims", 0) > 0

    result = project.dbt("build", "--selector", "monitor", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "has no window_start / window_end columns" in output
    assert "dbt build --selector score" in output

    # a new batch scored: the incremental table gains the columns, old rows kept (null windows)
    project.dbt(
        "build",
        "--selector",
        "score",
        "--vars",
        '{scoring_batch_id: b2, scoring_window_start: "2025-06-01"}',
    )
    rows = project.query(
        "select batch_id, count(*), count(window_start) from main_ml.fraud_scores "
        "group by batch_id order by batch_id"
    )
    counts = {batch: (n, windows) for batch, n, windows in rows}
    for batch, n in before.items():  # every earlier batch's rows kept, with null windows
        assert counts[batch] == (n, 0), batch
    assert counts["b2"][0] > 0
    assert counts["b2"][1] == counts["b2"][0]
    project.dbt("build", "--selector", "monitor", "--vars", "{scoring_batch_id: b2}", check=False)
    assert project.scalar("select count(*) from main_monitoring.mon_batches") == 2
