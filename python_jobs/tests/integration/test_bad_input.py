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


# A value per raw column that staging casts from text, that no cast can read.
UNREADABLE = {
    "claim_line_number": "one",
    "service_unit_quantity": "many",
    "claim_start_date": "not-a-date",
    "claim_end_date": "2024-13-45",
    "claim_line_start_date": "31/02/2024",
    "claim_line_end_date": "soon",
    "paid_date": "n/a",
    "paid_amount": "12,50",
    "allowed_amount": "n/a",
    "charge_amount": "$100",
    "ingest_datetime": "yesterday",
}
# Readable text: a negative paid amount, and a blank (missing) charge amount.
READABLE = {"negative_paid": ("paid_amount", "-5.00"), "blank_charge": ("charge_amount", "  ")}


def test_unreadable_values_are_quarantined_not_fatal(tmp_path, copy_raw) -> None:
    """Every column staging casts from text: a value that does not parse quarantines its line
    with reason unreadable_value and the column's name, and the build goes on. A readable
    non-positive or missing amount keeps non_positive_amount."""
    raw = copy_raw()
    claims_file = raw / "medical_claim.parquet"
    rewritten = raw / "rewritten.parquet"
    cases = [*UNREADABLE, *READABLE]
    with duckdb.connect() as con:
        # one clean-looking line from each of as many claims: positive amounts, plausible
        # units, dates present, its (claim_id, claim_line_number) received once
        victims = con.execute(
            f"""
            with lines as (
                select
                    *,
                    count(*) over (partition by claim_id, claim_line_number) as copies
                from read_parquet('{claims_file}')
            )
            select claim_id, claim_line_number
            from lines
            where
                copies = 1
                and claim_id is not null and claim_line_number is not null
                and person_id is not null
                and charge_amount > 0 and allowed_amount > 0 and paid_amount > 0
                and service_unit_quantity between 1 and 10
                and claim_start_date is not null and claim_line_start_date is not null
            qualify row_number() over (partition by claim_id order by claim_line_number) = 1
            order by claim_id
            limit {len(cases)}
            """
        ).fetchall()
        victim = dict(zip(cases, victims, strict=True))
        columns = [
            row[0] for row in con.execute(f"describe select * from '{claims_file}'").fetchall()
        ]

        def text(column: str) -> str:
            """The column as text, with each case's value on its victim line."""
            overrides = [(c, UNREADABLE[c]) for c in UNREADABLE if c == column]
            overrides += [(case, value) for case, (c, value) in READABLE.items() if c == column]
            branches = " ".join(
                f"when claim_id = '{victim[case][0]}' and claim_line_number = "
                f"{victim[case][1]} then '{value}'"
                for case, value in overrides
            )
            return f"case {branches} else cast({column} as varchar) end as {column}"

        typed = {*UNREADABLE}
        select = ", ".join(text(column) if column in typed else column for column in columns)
        con.execute(
            f"copy (select {select} from '{claims_file}') to '{rewritten}' (format parquet)"
        )
    rewritten.replace(claims_file)
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

    def quarantined(case: str) -> tuple[str, str | None, bool]:
        rows = project.query(
            "select rejection_reasons, unreadable_columns, has_unreadable_value "
            f"from main_marts.claims_quarantine where claim_id = '{victim[case][0]}' "
            f"and coalesce(claim_line_number, -1) in ({victim[case][1]}, -1)"
        )
        assert len(rows) == 1, (case, rows)
        return rows[0]

    for column in UNREADABLE:
        reasons, unreadable_columns, flagged = quarantined(column)
        codes = reasons.split(",")
        assert "unreadable_value" in codes, (column, reasons)
        assert unreadable_columns == column
        assert flagged
        # not the reason of a missing or non-positive value
        for code in ("null_key", "missing_required_date", "non_positive_amount", "invalid_units"):
            assert code not in codes, (column, reasons)
    for case in READABLE:
        reasons, unreadable_columns, flagged = quarantined(case)
        assert "non_positive_amount" in reasons.split(","), (case, reasons)
        assert "unreadable_value" not in reasons.split(","), (case, reasons)
        assert unreadable_columns is None
        assert not flagged
    reconcile = [
        result["status"]
        for result in project.run_results()["results"]
        if result["unique_id"] == "test.claims_fraud.assert_claim_lines_reconcile"
    ]
    assert reconcile == ["pass"]
