"""Repeated incremental runs leave no temporary relations in the DuckDB file.

dbt-duckdb writes the temp table of an incremental Python model (fraud_scores,
ml_reference_score_quantiles) as a real table and, taking it for a connection-local temporary
one, never dropped it: every `dbt build --selector score` left a full copy of its rows behind
and the file grew. macros/adapters/duckdb/ makes the materialization drop it, and drops those of
earlier (or failed) runs. SQL incremental models (fct_claim_features, ml_reference_profile,
mon_*) use true temporary tables; the override must not change that.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from harness import DbtProject, copy_trained_state

# Each test rescores or rebuilds a copy of the trained state several times (30 s of the
# 6-minute `make test` budget): `make test-slow` and CI run them.
pytestmark = pytest.mark.slow

SCORE_MODELS = ("fraud_scores", "ml_reference_score_quantiles")
SQL_INCREMENTAL = "fct_claim_features path:models/monitoring"


def _relations(project: DbtProject) -> set[tuple[str, str]]:
    return set(project.query("select table_schema, table_name from information_schema.tables"))


def _temp_relations(relations: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(relation for relation in relations if "__dbt_tmp" in relation[1])


def test_score_runs_leave_no_temp_tables_and_drop_those_of_earlier_runs(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    """Two score runs on one state: the first leaves no temp table and no new relation; before
    the second, the leftovers of a run killed between the temp write and its drop (or of any run
    before the fix, which wrote them to the default schema `main`) are planted, and the second
    run drops them."""
    project = copy_trained_state(trained_project, tmp_path / "state")
    before = _relations(project)
    assert _temp_relations(before) == []
    rows_before = project.scalar("select count(*) from main_ml.fraud_scores")

    project.dbt("build", "--selector", "score")  # incremental: the tables exist already

    assert _relations(project) == before

    leftovers = [f"main.{model}__dbt_tmp20250101000000000000" for model in SCORE_MODELS] + [
        "main_ml.fraud_scores__dbt_tmp20250102000000000000"
    ]
    # same prefix, not dbt's timestamp suffix: not the model's temp table, must stay
    unrelated = "main.fraud_scores__dbt_tmp_kept_by_a_user"
    with duckdb.connect(str(project.duckdb_path)) as con:
        for name in [*leftovers, unrelated]:
            con.execute(f"create table {name} as select 1 as leftover")

    project.dbt("build", "--selector", "score")

    after = _relations(project)
    assert _temp_relations(after) == [("main", "fraud_scores__dbt_tmp_kept_by_a_user")]
    assert after == before | {("main", "fraud_scores__dbt_tmp_kept_by_a_user")}
    # delete+insert still replaces the rescored batch (same batch id both times)
    assert project.scalar("select count(*) from main_ml.fraud_scores") == rows_before


def test_sql_incremental_runs_leave_no_temp_tables(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    """fct_claim_features and the mon_* models: the second run is incremental for all of them."""
    project = copy_trained_state(trained_project, tmp_path / "state")
    project.dbt("run", "--select", SQL_INCREMENTAL)
    after_first = _relations(project)

    project.dbt("run", "--select", SQL_INCREMENTAL)

    after_second = _relations(project)
    assert _temp_relations(after_second) == []
    assert after_second == after_first
