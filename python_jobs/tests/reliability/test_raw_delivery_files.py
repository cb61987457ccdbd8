"""Every delivery file of a raw table is read (locally <table>*.parquet in the raw folder), none
is ignored without notice, and each is checked for the declared columns."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from harness import PROJECT_ROOT, make_project

from claims_fraud.synthetic.generate import TABLE_NAMES

pytestmark = pytest.mark.integration

SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "claims" / "_claims__sources.yml"
SECOND_DELIVERY = "medical_claim_2024_07.parquet"
SECOND_LINES = 25


def _second_delivery(raw: Path, select: str) -> None:
    """A later claims delivery beside medical_claim.parquet: new claim ids, columns reordered."""
    claims_file = raw / "medical_claim.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select {select}
                from (
                    select * replace ('JULY-' || claim_id as claim_id)
                    from read_parquet('{claims_file}')
                    where claim_id is not null
                    order by claim_id, claim_line_number
                    limit {SECOND_LINES}
                )
            ) to '{raw / SECOND_DELIVERY}' (format parquet)
            """
        )


def test_no_raw_table_name_is_the_start_of_another() -> None:
    """The sources read <table>*.parquet: a table name that starts another would read both."""
    sources = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    names = {table["name"] for source in sources for table in source["tables"]} | set(TABLE_NAMES)
    clashes = [(a, b) for a in names for b in names if a != b and b.startswith(a)]
    assert clashes == []


def test_a_second_claims_delivery_file_is_read(tmp_path: Path, copy_raw) -> None:
    raw = copy_raw()
    with duckdb.connect() as con:
        first_lines = con.execute(
            f"select count(*) from read_parquet('{raw / 'medical_claim.parquet'}')"
        ).fetchone()[0]
        columns = [
            row[0]
            for row in con.execute(
                f"describe select * from read_parquet('{raw / 'medical_claim.parquet'}')"
            ).fetchall()
        ]
    # columns in reverse order, and the amount as text: matched by name, cast in staging;
    # one line with a zero paid amount, so the delivery also reaches the quarantine
    reordered = ", ".join(
        "case when row_number() over (order by claim_id, claim_line_number) = 1 then '0.00' "
        "else cast(paid_amount as varchar) end as paid_amount"
        if column == "paid_amount"
        else column
        for column in reversed(columns)
    )
    _second_delivery(raw, reordered)
    project = make_project(tmp_path / "dbt", raw)

    project.dbt(
        "build",
        "--select",
        "+claims_quarantine",
        "int_claim_lines_validated",
        "assert_claim_lines_reconcile",
        "--indirect-selection",
        "cautious",
        "--exclude",
        "test_type:unit",
    )

    staged, second = project.query(
        "select count(*), count(*) filter (where claim_id like 'JULY-%') "
        "from main_intermediate.int_claim_lines_checked"
    )[0]
    assert staged == first_lines + SECOND_LINES
    assert second == SECOND_LINES
    quarantined = project.scalar(
        "select count(*) from main_marts.claims_quarantine "
        "where claim_id like 'JULY-%' and rejection_reasons like '%non_positive_amount%'"
    )
    assert quarantined >= 1
    reconcile = [
        result
        for result in project.run_results()["results"]
        if result["unique_id"] == "test.claims_fraud.assert_claim_lines_reconcile"
    ]
    assert [result["status"] for result in reconcile] == ["pass"]


def test_a_delivery_file_missing_a_column_fails_naming_the_file(tmp_path: Path, copy_raw) -> None:
    """union_by_name would read a missing column as nulls: the file is named instead."""
    raw = copy_raw()
    _second_delivery(raw, "* exclude (hcpcs_code)")
    project = make_project(tmp_path / "dbt", raw)

    result = project.dbt("run", "--select", "stg_claims__medical_claim", check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Raw file {raw / SECOND_DELIVERY}" in output
    assert "missing column(s): hcpcs_code" in output
    assert f"Raw file {raw / 'medical_claim.parquet'}" not in output
