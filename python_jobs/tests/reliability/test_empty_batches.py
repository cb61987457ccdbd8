"""An empty scoring batch (a window with no claims, a 0-row delivery, a delivery that was all
quarantined) scores to 0 rows with the table's column types, says which batch and window are
empty, and monitoring reports the batch as no_data. Nothing crashes (it was an IndexError)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from harness import DbtProject, copy_mlflow_store, copy_trained_state, make_project

from claims_fraud.ml.score import SCORE_COLUMNS, load_champions, score_batch, score_from_dbt
from claims_fraud.ml.tracking import MlflowSettings

pytestmark = pytest.mark.integration

CLAIMS_FILE = "medical_claim.parquet"


def _features(project: DbtProject, where: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(f"select * from main_features.fct_claim_features where {where}").df()


def _column_types(project: DbtProject, table: str) -> list[tuple[str, str]]:
    return project.query(
        "select column_name, data_type from information_schema.columns "
        f"where table_name = '{table}' order by ordinal_position"
    )


def _batches(project: DbtProject) -> list[tuple[str, int]]:
    return project.query(
        "select batch_id, count(*) from main_ml.fraud_scores group by batch_id order by batch_id"
    )


def _rewrite_claims(raw: Path, select: str) -> None:
    """Replace the raw claims delivery by `select` over it (a relation named `claims`)."""
    claims_file, rewritten = raw / CLAIMS_FILE, raw / "rewritten.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"copy (with claims as (select * from read_parquet('{claims_file}')) {select}) "
            f"to '{rewritten}' (format parquet)"
        )
    rewritten.replace(claims_file)


def _build_features(project: DbtProject) -> None:
    """Seeds and models up to fct_claim_features and the quarantine, without their tests: the
    delivery tests fail an empty or rejected delivery on purpose, scoring must still cope.
    Plus the seeds the score slice's SIU models read (the features slice loads every seed)."""
    project.dbt(
        "build",
        "--select",
        "+fct_claim_features",
        "+claims_quarantine",
        "ref_reason_templates",
        "monitoring_thresholds",
        "stg_claims__siu_investigation",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    )


def test_the_real_champion_scores_no_claims_to_no_rows_of_the_same_types(
    trained_project: DbtProject,
) -> None:
    champions = load_champions(MlflowSettings.local(trained_project.mlflow_dir))
    empty = _features(trained_project, "false")  # typed as the warehouse types it
    assert empty.empty
    assert len(empty.columns) > 0
    # The models answer no rows with no scores (the autoencoder raised IndexError).
    assert champions.classifier.predict(None, empty).shape == (0,)
    assert champions.autoencoder.predict(None, empty).shape == (0,)

    scores = score_batch(empty, champions, "no_claims")

    assert len(scores) == 0
    assert list(scores.columns) == list(SCORE_COLUMNS)
    some = score_batch(_features(trained_project, "true limit 5"), champions, "some_claims")
    assert len(some) == 5
    assert scores.dtypes.equals(some.dtypes)


@pytest.mark.slow  # scores and monitors a copy of its own (make test-slow)
def test_an_empty_window_scores_nothing_and_monitoring_reports_it_as_no_data(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    batches, types = _batches(project), _column_types(project, "fraud_scores")
    assert batches  # the copy was scored: an empty batch must add nothing to it

    result = project.dbt(
        "build",
        "--selector",
        "score",
        "--vars",
        '{scoring_batch_id: empty_window, scoring_window_start: "2099-01-01"}',
    )

    output = result.stdout + result.stderr
    assert "scoring batch empty_window (window [2099-01-01, unbounded)) is empty" in output
    assert _batches(project) == batches
    assert _column_types(project, "fraud_scores") == types

    project.dbt(
        "build", "--selector", "monitor", "--vars", "{scoring_batch_id: empty_window}", check=False
    )
    # Nothing crashed: every model ran; the monitoring tests may fail on purpose (no_data is
    # an error-severity verdict: someone has to look at a batch that brought no claims).
    nodes = project.run_results()["results"]
    models = [node for node in nodes if node["unique_id"].startswith("model.")]
    assert models
    assert {node["status"] for node in models} == {"success"}
    assert [node["unique_id"] for node in nodes if node["status"] == "error"] == []
    assert project.query(
        "select n_claims from main_monitoring.mon_batches where batch_id = 'empty_window'"
    ) == [(0,)]
    psi = project.query(
        "select status, count(*) from main_monitoring.mon_feature_psi "
        "where batch_id = 'empty_window' group by status"
    )
    assert len(psi) == 1
    assert psi[0][0] == "no_data"
    assert psi[0][1] > 0
    assert project.query(
        "select status from main_monitoring.mon_score_distribution where batch_id = 'empty_window'"
    ) == [("no_data",)]


def test_a_0_row_delivery_scores_nothing_into_a_typed_table(
    trained_project: DbtProject, tmp_path: Path, copy_raw
) -> None:
    raw = copy_raw()
    _rewrite_claims(raw, "select * from claims where false")
    project = make_project(tmp_path / "dbt", raw)
    copy_mlflow_store(trained_project.mlflow_dir, project.mlflow_dir)
    _build_features(project)
    assert project.scalar("select count(*) from main_features.fct_claim_features") == 0

    # The first score build creates fraud_scores from no rows: its columns must be typed.
    result = project.dbt("build", "--selector", "score", "--vars", "{scoring_batch_id: zero_rows}")

    output = result.stdout + result.stderr
    assert "scoring batch zero_rows (window [unbounded, unbounded)) is empty" in output
    assert "fct_claim_features has no rows at all" in output
    assert project.scalar("select count(*) from main_ml.fraud_scores") == 0
    assert _column_types(project, "fraud_scores") == _column_types(trained_project, "fraud_scores")


def test_a_delivery_that_is_all_quarantined_scores_nothing(
    trained_project: DbtProject, tmp_path: Path, copy_raw, caplog: pytest.LogCaptureFixture
) -> None:
    raw = copy_raw()
    _rewrite_claims(raw, "select * replace (paid_amount * 0 as paid_amount) from claims")
    project = make_project(tmp_path / "dbt", raw)
    _build_features(project)
    lines = project.scalar(f"select count(*) from read_parquet('{raw / CLAIMS_FILE}')")
    assert project.scalar("select count(*) from main_marts.claims_quarantine") == lines > 0
    assert project.scalar("select count(*) from main_features.fct_claim_features") == 0

    # What the fraud_scores model runs, on the real empty table with the real champion.
    meta = {
        "batch_id": "all_quarantined",
        "window_start": "",
        "window_end": "",
        "mlflow": {"mlflow_dir": str(trained_project.mlflow_dir)},
    }
    with (
        duckdb.connect(str(project.duckdb_path), read_only=True) as con,
        caplog.at_level(logging.WARNING, logger="claims_fraud.ml.score"),
    ):
        scores = score_from_dbt(con.sql("select * from main_features.fct_claim_features"), meta)

    assert len(scores) == 0
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert "scoring batch all_quarantined" in caplog.text
    assert "every line quarantined" in caplog.text


@pytest.mark.slow  # rescores on a copy of its own (make test-slow)
def test_rescoring_a_batch_that_is_now_empty_leaves_none_of_its_old_rows(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    """delete+insert deletes only the keys of the new rows: without fraud_scores' post-hook an
    empty rescore would keep the batch's old scores as if they were current."""
    project = copy_trained_state(trained_project, tmp_path / "state")
    assert (
        project.scalar("select count(*) from main_ml.fraud_scores where batch_id = 'all_claims'")
        > 0
    )
    project.dbt(
        "build",
        "--selector",
        "score",
        "--vars",
        '{scoring_batch_id: all_claims, scoring_window_start: "2099-01-01"}',
    )
    assert (
        project.scalar("select count(*) from main_ml.fraud_scores where batch_id = 'all_claims'")
        == 0
    )
