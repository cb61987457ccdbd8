"""Deliveries that used to lose data or pass quietly: an empty feed, a feed that is all
quarantined, a normal feed after an empty one, and claims that arrive late. Every valid claim
ends with exactly one feature row (tests/assert_every_valid_claim_has_one_feature_row.sql), and
an empty or rejected feed fails the build with a message (tests/assert_delivery_*.sql)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from harness import DbtProject, make_project

pytestmark = pytest.mark.integration

FEATURES_TABLE = "main_features.fct_claim_features"


def _rewrite_claims(raw: Path, select: str) -> None:
    """Replace medical_claim.parquet with `select ... from claims` over its own rows."""
    claims_file = raw / "medical_claim.parquet"
    rewritten = raw / "rewritten.tmp"
    with duckdb.connect() as con:
        con.execute(f"create view claims as select * from read_parquet('{claims_file}')")
        con.execute(f"copy ({select}) to '{rewritten}' (format parquet)")
    rewritten.replace(claims_file)


def _failed_tests(project: DbtProject) -> dict[str, str]:
    return {
        result["unique_id"].split(".")[-1]: result["message"] or ""
        for result in project.run_results()["results"]
        if result["unique_id"].startswith("test.") and result["status"] in ("fail", "error")
    }


def _valid_claims(project: DbtProject) -> int:
    return project.scalar(
        "select count(distinct claim_id) from main_intermediate.int_claim_lines_validated"
    )


@pytest.mark.slow  # builds two deliveries of its own (make test-slow)
def test_empty_delivery_errors_and_the_next_delivery_gets_every_feature(
    tmp_path: Path, copy_raw: Callable[[], Path], raw_dataset: Path
) -> None:
    raw = copy_raw()
    _rewrite_claims(raw, "select * from claims where false")
    project = make_project(tmp_path / "dbt", raw)
    result = project.dbt("build", "--selector", "features", check=False)
    assert result.returncode != 0, "an empty delivery must not build green"
    failed = _failed_tests(project)
    assert "assert_delivery_has_claim_lines" in failed
    assert "assert_delivery_has_claim_lines" in result.stdout
    # what the build kept of the empty feed: the message says what to check
    message = project.scalar(
        "select message from main_dbt_test__audit.assert_delivery_has_claim_lines"
    )
    assert "has 0 claim lines" in message
    assert "CLAIMS_FRAUD_RAW_DIR" in message
    # The old trap: features built from the empty feed (dbt run skips the tests), then a
    # normal delivery: the incremental model must pick up every claim it does not hold yet.
    project.dbt("run", "--select", "+fct_claim_features")
    assert project.scalar(f"select count(*) from {FEATURES_TABLE}") == 0
    shutil.copy(raw_dataset / "medical_claim.parquet", raw / "medical_claim.parquet")
    project.dbt("build", "--selector", "features")
    assert project.scalar(f"select count(*) from {FEATURES_TABLE}") == _valid_claims(project) > 0
    assert "assert_every_valid_claim_has_one_feature_row" not in _failed_tests(project)


@pytest.mark.slow  # builds a delivery of its own (make test-slow)
def test_a_fully_quarantined_delivery_errors_with_the_reason(
    tmp_path: Path, copy_raw: Callable[[], Path]
) -> None:
    raw = copy_raw()
    # every line's paid amount negative: every line lands in quarantine (non_positive_amount)
    _rewrite_claims(
        raw, "select * replace (-abs(coalesce(paid_amount, 0)) - 1 as paid_amount) from claims"
    )
    project = make_project(tmp_path / "dbt", raw)
    result = project.dbt("build", "--selector", "features", check=False)
    assert result.returncode != 0
    statuses = {
        result["unique_id"].split(".")[-1]: result["status"]
        for result in project.run_results()["results"]
    }
    assert statuses["assert_quarantine_rate_below_error"] == "fail"
    assert statuses["assert_quarantine_rate_below_warn"] == "warn"  # the warn level fires too
    rate, message = project.query(
        "select quarantine_rate, message "
        "from main_dbt_test__audit.assert_quarantine_rate_below_error"
    )[0]
    assert rate == 1.0
    assert "non_positive_amount" in message
    assert "claims_quarantine" in message
    # nothing lost: every line is in the quarantine
    assert project.scalar("select count(*) from main_marts.claims_quarantine") == project.scalar(
        "select count(*) from main_staging.stg_claims__medical_claim"
    )


@pytest.mark.slow  # builds two deliveries of its own (make test-slow)
def test_claims_arriving_late_get_their_features(
    tmp_path: Path, copy_raw: Callable[[], Path], raw_dataset: Path, built_project: DbtProject
) -> None:
    """Claims held back from a first delivery and delivered later with their original (old)
    ingested_at, far outside the lookback window, get features equal to a full build's."""
    raw = copy_raw()
    claims_file = raw_dataset / "medical_claim.parquet"
    with duckdb.connect() as con:
        late = [
            row[0]
            for row in con.execute(
                f"""
                select claim_id
                from read_parquet('{claims_file}')
                where claim_id is not null
                group by claim_id
                having max(ingest_datetime) < (
                    select max(ingest_datetime) - interval 60 days
                    from read_parquet('{claims_file}')
                )
                order by hash(claim_id)
                limit 200
                """
            ).fetchall()
        ]
    assert len(late) == 200
    held_back = ", ".join(f"'{claim_id}'" for claim_id in late)
    _rewrite_claims(raw, f"select * from claims where coalesce(claim_id, '') not in ({held_back})")
    project = make_project(tmp_path / "dbt", raw)
    project.dbt("seed")
    project.dbt("run", "--select", "+fct_claim_features")
    assert (
        project.scalar(f"select count(*) from {FEATURES_TABLE} where claim_id in ({held_back})")
        == 0
    )
    shutil.copy(claims_file, raw / "medical_claim.parquet")  # the late claims arrive
    project.dbt("run", "--select", "+fct_claim_features")
    project.dbt("test", "--select", "assert_every_valid_claim_has_one_feature_row")
    assert project.scalar(f"select count(*) from {FEATURES_TABLE}") == _valid_claims(project)
    # the late claims' features are those a full build computes
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{built_project.duckdb_path}' as full_build (read_only)")
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = current_database() and table_schema = 'main_features' "
                "and table_name = 'fct_claim_features' and column_name <> 'ingested_at'"
            ).fetchall()
        ]
        listed = ", ".join(columns)
        differing = con.execute(
            f"""
            select count(*) from (
                select {listed} from {FEATURES_TABLE} where claim_id in ({held_back})
                except
                select {listed} from full_build.{FEATURES_TABLE} where claim_id in ({held_back})
            )
            """
        ).fetchone()[0]
    assert differing == 0
