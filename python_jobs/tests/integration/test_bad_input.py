"""Bad raw input: clear errors for missing files and columns; malformed values are quarantined."""

from __future__ import annotations

import duckdb
import pytest
from harness import make_project

pytestmark = pytest.mark.integration


def test_missing_raw_file_fails_naming_the_file(tmp_path, copy_raw) -> None:
    raw = copy_raw()
    (raw / "provider.parquet").unlink()
    project = make_project(tmp_path / "dbt", raw)
    result = project.dbt("run", "--select", "stg_claims__provider", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "provider.parquet" in output


def test_missing_raw_column_fails_naming_file_and_column(tmp_path, copy_raw) -> None:
    raw = copy_raw()
    claims_file = raw / "medical_claim.parquet"
    broken = raw / "broken.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * exclude (hcpcs_code) from read_parquet('{claims_file}')) "
            f"to '{broken}' (format parquet)"
        )
    broken.replace(claims_file)
    project = make_project(tmp_path / "dbt", raw)
    result = project.dbt("run", "--select", "stg_claims__medical_claim", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "medical_claim.parquet" in output
    assert "missing column(s): hcpcs_code" in output


def test_unreadable_values_are_quarantined_not_fatal(tmp_path, copy_raw) -> None:
    """A text date that does not parse becomes a quarantined line, and the build goes on."""
    raw = copy_raw()
    claims_file = raw / "medical_claim.parquet"
    rewritten = raw / "rewritten.parquet"
    with duckdb.connect() as con:
        victim = con.execute(
            f"select claim_id, claim_line_number from read_parquet('{claims_file}') "
            "where claim_id is not null order by claim_id, claim_line_number limit 1"
        ).fetchone()
        con.execute(
            f"""
            copy (
                select * replace (
                    case when claim_id = '{victim[0]}' and claim_line_number = {victim[1]}
                        then 'not-a-date' else cast(claim_start_date as varchar) end
                        as claim_start_date,
                    case when claim_id = '{victim[0]}' and claim_line_number = {victim[1]}
                        then 'many' else cast(service_unit_quantity as varchar) end
                        as service_unit_quantity
                )
                from read_parquet('{claims_file}')
            ) to '{rewritten}' (format parquet)
            """
        )
    rewritten.replace(claims_file)
    project = make_project(tmp_path / "dbt", raw)
    project.dbt(
        "build",
        "--select",
        "+claims_quarantine",
        "--indirect-selection",
        "cautious",
        "--exclude",
        "test_type:unit",
    )
    reasons = project.query(
        "select rejection_reasons from main_marts.claims_quarantine "
        f"where claim_id = '{victim[0]}' and claim_line_number = {victim[1]}"
    )
    assert reasons, "the line with unreadable values is not in the quarantine"
    assert "missing_required_date" in reasons[0][0]
    assert "invalid_units" in reasons[0][0]
