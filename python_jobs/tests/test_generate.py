"""Tests of the synthetic claims generator, its reference loader and the `generate` CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_generate_locality import CLAIM_PLACES_SQL

from claims_fraud.cli.main import main
from claims_fraud.features.reference import (
    PROCEDURE_CODES_FILE,
    ReferenceData,
    load_reference,
)
from claims_fraud.synthetic.generate import (
    MALFORMED_KINDS,
    MANIFEST_FILE,
    SCHEMES,
    TABLE_NAMES,
    GenerationResult,
    GeneratorConfig,
    build_manifest,
    generate,
    generate_dataset,
    write_dataset,
)

N_LINES = 30_000
SEED = 7
MAX_PLAUSIBLE_UNITS = 500
MINUTES_IN_A_DAY = 1440

EXPECTED_TYPES = {
    "medical_claim": {
        "claim_id": pa.string(),
        "claim_line_number": pa.int32(),
        "claim_type": pa.string(),
        "person_id": pa.string(),
        "member_id": pa.string(),
        "payer": pa.string(),
        "plan": pa.string(),
        "claim_start_date": pa.date32(),
        "claim_end_date": pa.date32(),
        "claim_line_start_date": pa.date32(),
        "claim_line_end_date": pa.date32(),
        "place_of_service_code": pa.string(),
        "bill_type_code": pa.string(),
        "revenue_center_code": pa.string(),
        "service_unit_quantity": pa.float64(),
        "hcpcs_code": pa.string(),
        "hcpcs_modifier_1": pa.string(),
        "hcpcs_modifier_2": pa.string(),
        "rendering_npi": pa.string(),
        "billing_npi": pa.string(),
        "facility_npi": pa.string(),
        "paid_date": pa.date32(),
        "paid_amount": pa.decimal128(12, 2),
        "allowed_amount": pa.decimal128(12, 2),
        "charge_amount": pa.decimal128(12, 2),
        "diagnosis_code_type": pa.string(),
        "diagnosis_code_1": pa.string(),
        "diagnosis_code_2": pa.string(),
        "diagnosis_code_3": pa.string(),
        "data_source": pa.string(),
        "ingest_datetime": pa.timestamp("us"),
    },
    "eligibility": {
        "person_id": pa.string(),
        "member_id": pa.string(),
        "gender": pa.string(),
        "race": pa.string(),
        "birth_date": pa.date32(),
        "death_date": pa.date32(),
        "state": pa.string(),
        "zip_code": pa.string(),
        "enrollment_start_date": pa.date32(),
        "enrollment_end_date": pa.date32(),
        "payer": pa.string(),
        "plan": pa.string(),
    },
    "provider": {
        "npi": pa.string(),
        "provider_specialty": pa.string(),
        "practice_state": pa.string(),
        "entity_type": pa.string(),
    },
    "siu_investigation": {
        "claim_id": pa.string(),
        "investigation_closed_date": pa.date32(),
        "outcome": pa.string(),
    },
    "fraud_ground_truth": {
        "claim_id": pa.string(),
        "is_fraud": pa.bool_(),
        "scheme": pa.string(),
    },
}

# The validation rules as the dbt project applies them (null-safe), one boolean per kind.
RULES_SQL = f"""
create or replace view checked as
with numbered as (
    select
        *,
        row_number() over (
            partition by claim_id, claim_line_number order by ingest_datetime
        ) as occurrence
    from medical_claim
),
members as (
    select person_id, max(death_date) as death_date from eligibility group by person_id
),
covered as (
    select distinct numbered.row_id
    from numbered
    inner join eligibility
        on numbered.person_id = eligibility.person_id
        and numbered.claim_line_start_date
            between eligibility.enrollment_start_date and eligibility.enrollment_end_date
)
select
    numbered.row_id,
    numbered.claim_id,
    (numbered.claim_id is null or claim_line_number is null or numbered.person_id is null)
        as null_key,
    (numbered.claim_id is not null and claim_line_number is not null and occurrence > 1)
        as duplicate_line,
    (coalesce(charge_amount, 0) <= 0 or coalesce(allowed_amount, 0) <= 0
        or coalesce(paid_amount, 0) <= 0) as non_positive_amount,
    coalesce(paid_amount > allowed_amount or allowed_amount > charge_amount, false)
        as amount_inconsistent,
    coalesce(claim_end_date < claim_start_date
        or claim_line_end_date < claim_line_start_date, false) as end_before_start,
    coalesce(
        claim_start_date > cast(ingest_datetime as date)
        or claim_end_date > cast(ingest_datetime as date)
        or claim_line_start_date > cast(ingest_datetime as date)
        or claim_line_end_date > cast(ingest_datetime as date)
        or paid_date > cast(ingest_datetime as date), false) as future_date,
    (members.person_id is not null and claim_line_start_date is not null
        and covered.row_id is null) as outside_enrollment,
    coalesce(claim_line_start_date > members.death_date, false) as after_death,
    (numbered.person_id is not null and members.person_id is null) as unknown_member,
    (rendering.npi is null or billing.npi is null
        or (facility_npi is not null and facility.npi is null)) as unknown_provider,
    codes.hcpcs_code is null as unknown_procedure,
    (service_unit_quantity is null or service_unit_quantity <= 0
        or service_unit_quantity > {MAX_PLAUSIBLE_UNITS}) as invalid_units
from numbered
left join members on numbered.person_id = members.person_id
left join covered on numbered.row_id = covered.row_id
left join provider as rendering on numbered.rendering_npi = rendering.npi
left join provider as billing on numbered.billing_npi = billing.npi
left join provider as facility on numbered.facility_npi = facility.npi
left join ref_procedure_codes as codes on numbered.hcpcs_code = codes.hcpcs_code
"""


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference()


@pytest.fixture(scope="module")
def config() -> GeneratorConfig:
    return GeneratorConfig(n_lines=N_LINES, seed=SEED)


@pytest.fixture(scope="module")
def result(config: GeneratorConfig, reference: ReferenceData) -> GenerationResult:
    return generate(config, reference)


@pytest.fixture(scope="module")
def dataset_dir(
    tmp_path_factory: pytest.TempPathFactory, config: GeneratorConfig, result: GenerationResult
) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    return write_dataset(result.tables, out, build_manifest(config, result, 0.0))


@pytest.fixture(scope="module")
def con(dataset_dir: Path, reference: ReferenceData) -> duckdb.DuckDBPyConnection:
    """DuckDB views over the written Parquet files (row_id = position in medical_claim)."""
    connection = duckdb.connect()
    connection.execute(
        "create view medical_claim as select * rename (file_row_number as row_id) from "
        f"read_parquet('{dataset_dir / 'medical_claim.parquet'}', file_row_number = true)"
    )
    for name in TABLE_NAMES[1:]:
        connection.execute(
            f"create view {name} as select * from read_parquet('{dataset_dir / name}.parquet')"
        )
    seeds = reference.seeds_dir
    connection.execute(
        "create view ref_procedure_codes as select * from "
        f"read_csv('{seeds / PROCEDURE_CODES_FILE}', all_varchar = true)"
    )
    connection.execute(RULES_SQL)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def flags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("select * from checked order by row_id").df().set_index("row_id")


@pytest.fixture(scope="module")
def malformed_rows(result: GenerationResult) -> np.ndarray:
    return np.concatenate(list(result.malformed_rows.values()))


@pytest.fixture(scope="module")
def valid_lines(con: duckdb.DuckDBPyConnection, malformed_rows: np.ndarray) -> str:
    """View of the lines that are neither malformed nor phantom billing (meant to fail)."""
    con.execute("create or replace temp table malformed_rows (row_id bigint)")
    con.executemany("insert into malformed_rows values (?)", [[int(r)] for r in malformed_rows])
    con.execute(
        """
        create or replace view valid_lines as
        select medical_claim.*
        from medical_claim
        left join fraud_ground_truth using (claim_id)
        where row_id not in (select row_id from malformed_rows)
            and coalesce(scheme, '') <> 'phantom_billing'
        """
    )
    return "valid_lines"


def query(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(date_as_object=False)


def claims_by_scheme(result: GenerationResult, scheme: str) -> set[str]:
    truth = frame(result.tables["fraud_ground_truth"])
    return set(truth.loc[truth["scheme"] == scheme, "claim_id"])


# --- determinism, shape and schema ---------------------------------------------------------------


def test_same_seed_gives_identical_tables(
    config: GeneratorConfig, reference: ReferenceData, result: GenerationResult
) -> None:
    again = generate_dataset(config, reference)
    assert set(again) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert again[name].equals(result.tables[name]), name


def test_different_seed_gives_different_tables(
    config: GeneratorConfig, reference: ReferenceData, result: GenerationResult
) -> None:
    other = generate_dataset(replace(config, seed=SEED + 1), reference)
    assert not other["medical_claim"].equals(result.tables["medical_claim"])
    assert not other["eligibility"].equals(result.tables["eligibility"])


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_columns_and_arrow_types(result: GenerationResult, table: str) -> None:
    schema = result.tables[table].schema
    assert dict(zip(schema.names, schema.types, strict=True)) == EXPECTED_TYPES[table]
    assert schema.names == list(EXPECTED_TYPES[table])


def test_total_rows_equal_requested_lines(result: GenerationResult) -> None:
    assert result.tables["medical_claim"].num_rows == N_LINES


def test_sizes_scale_with_lines(result: GenerationResult) -> None:
    assert result.n_members == N_LINES // 20
    assert result.tables["provider"].num_rows >= 120
    lines_per_claim = N_LINES / result.n_claims
    assert 2.2 <= lines_per_claim <= 2.9


def test_tiny_dataset_still_works(reference: ReferenceData) -> None:
    tables = generate_dataset(GeneratorConfig(n_lines=5_000, seed=3), reference)
    assert tables["medical_claim"].num_rows == 5_000
    assert tables["fraud_ground_truth"].num_rows > 1_000


# --- fraud schemes -------------------------------------------------------------------------------


def test_fraud_rate_per_scheme_matches_config(
    config: GeneratorConfig, result: GenerationResult
) -> None:
    n = result.n_claims
    truth = frame(result.tables["fraud_ground_truth"])
    counts = truth["scheme"].value_counts()
    for scheme, rate in config.fraud_rates.as_dict().items():
        tolerance = 4 * np.sqrt(rate * (1 - rate) / n) + 2 / n
        observed = counts.get(scheme, 0) / n
        assert abs(observed - rate) <= tolerance, (scheme, observed, rate)
        assert result.fraud_claim_counts[scheme] == counts.get(scheme, 0)
    assert truth["is_fraud"].mean() == pytest.approx(config.fraud_rates.total, abs=0.01)
    assert (truth["scheme"].notna() == truth["is_fraud"]).all()


def test_ground_truth_has_one_row_per_claim(
    con: duckdb.DuckDBPyConnection, result: GenerationResult
) -> None:
    truth = frame(result.tables["fraud_ground_truth"])
    assert truth["claim_id"].is_unique
    assert len(truth) == result.n_claims
    orphans = con.execute(
        "select count(*) from medical_claim where claim_id is not null "
        "and claim_id not in (select claim_id from fraud_ground_truth)"
    ).fetchone()[0]
    assert orphans == 0


def test_upcoding_claims_bill_high_em_levels(
    result: GenerationResult, reference: ReferenceData
) -> None:
    lines = frame(result.tables["medical_claim"])
    levels = reference.procedure_codes.set_index("hcpcs_code")["em_level"]
    lines["em_level"] = lines["hcpcs_code"].map(levels)
    em = lines[lines["em_level"].notna()]
    upcoded = em["claim_id"].isin(claims_by_scheme(result, "upcoding"))
    high_share_upcoded = (em.loc[upcoded, "em_level"] >= 4).mean()
    high_share_rest = (em.loc[~upcoded, "em_level"] >= 4).mean()
    assert high_share_upcoded > 0.95
    assert high_share_rest < 0.6


def test_unbundling_adds_modifiers_and_lines(result: GenerationResult) -> None:
    lines = frame(result.tables["medical_claim"])
    unbundled = lines["claim_id"].isin(claims_by_scheme(result, "unbundling"))
    has_modifier = lines["hcpcs_modifier_1"].isin(["59", "25"])
    assert has_modifier[unbundled].mean() > 0.6
    assert has_modifier[~unbundled].mean() < 0.1
    per_claim = lines.groupby("claim_id").size()
    unbundled_claims = per_claim.index.isin(claims_by_scheme(result, "unbundling"))
    assert per_claim[unbundled_claims].mean() > per_claim[~unbundled_claims].mean() + 1.5


def test_excessive_units_exceed_the_code_maximum(
    valid_lines: str, con: duckdb.DuckDBPyConnection
) -> None:
    rows = con.execute(
        """
        select service_unit_quantity, cast(max_units_per_line as integer) as max_units
        from valid_lines
        inner join fraud_ground_truth using (claim_id)
        inner join ref_procedure_codes using (hcpcs_code)
        where scheme = 'excessive_units'
        """
    ).fetchall()
    assert rows
    assert all(max_units < units <= min(4 * max_units, 200) for units, max_units in rows)
    normal_over = con.execute(
        """
        select count(*) from valid_lines
        inner join fraud_ground_truth using (claim_id)
        inner join ref_procedure_codes using (hcpcs_code)
        where scheme is null and service_unit_quantity > cast(max_units_per_line as integer)
        """
    ).fetchone()[0]
    assert normal_over == 0


def test_impossible_days_exceed_a_day_of_minutes(
    valid_lines: str, con: duckdb.DuckDBPyConnection
) -> None:
    days = con.execute(
        f"""
        select
            rendering_npi,
            claim_line_start_date,
            sum(cast(typical_minutes as double) * service_unit_quantity) as minutes,
            bool_or(scheme = 'impossible_days') as has_scheme
        from valid_lines
        inner join fraud_ground_truth using (claim_id)
        inner join ref_procedure_codes using (hcpcs_code)
        where typical_minutes is not null
        group by all
        having minutes > {MINUTES_IN_A_DAY}
        """
    ).df()
    assert len(days) >= 1
    assert days["has_scheme"].all()


def test_impossible_days_claims_sit_on_overbooked_days(
    valid_lines: str, con: duckdb.DuckDBPyConnection
) -> None:
    share = con.execute(
        f"""
        with daily as (
            select rendering_npi, claim_line_start_date,
                sum(cast(typical_minutes as double) * service_unit_quantity) as minutes
            from valid_lines
            inner join ref_procedure_codes using (hcpcs_code)
            where typical_minutes is not null
            group by all
        )
        select avg(case when daily.minutes > {MINUTES_IN_A_DAY} then 1.0 else 0.0 end)
        from valid_lines
        inner join fraud_ground_truth using (claim_id)
        inner join daily using (rendering_npi, claim_line_start_date)
        where scheme = 'impossible_days'
        """
    ).fetchone()[0]
    assert share > 0.9


def test_provider_ring_shares_members(con: duckdb.DuckDBPyConnection) -> None:
    ring = con.execute(
        """
        select person_id, count(distinct rendering_npi) as providers,
            max(claim_start_date) - min(claim_start_date) as spread_days
        from medical_claim
        inner join fraud_ground_truth using (claim_id)
        where scheme = 'provider_ring'
        group by person_id
        """
    ).df()
    n_providers = con.execute(
        "select count(distinct rendering_npi) from medical_claim "
        "inner join fraud_ground_truth using (claim_id) where scheme = 'provider_ring'"
    ).fetchone()[0]
    specialties = con.execute(
        """
        select count(distinct provider_specialty)
        from (select distinct rendering_npi from medical_claim
              inner join fraud_ground_truth using (claim_id) where scheme = 'provider_ring')
        inner join provider on rendering_npi = npi
        """
    ).fetchone()[0]
    assert 5 <= n_providers <= 8
    assert specialties == n_providers
    assert ring["providers"].mean() >= 0.6 * n_providers
    assert (ring["spread_days"] <= 30).mean() > 0.8


def test_a_provider_ring_is_one_state_and_its_members_mostly_live_there(
    con: duckdb.DuckDBPyConnection,
) -> None:
    places = con.execute(f"select * from ({CLAIM_PLACES_SQL}) where scheme = 'provider_ring'").df()
    assert places["provider_state"].nunique() == 1
    local = places.drop_duplicates("person_id")
    assert (local["member_state"] == local["provider_state"]).mean() >= 0.7


def test_members_mostly_go_back_to_providers_they_know(con: duckdb.DuckDBPyConnection) -> None:
    """Honest members have a home provider: at least a third of their claims go to the provider
    they see most (a network feature needs honest members who do not hop)."""
    share = con.execute(
        f"""
        with visits as (
            select person_id, npi, count(*) as claims
            from ({CLAIM_PLACES_SQL})
            where scheme = 'clean'
            group by person_id, npi
        ),
        members as (
            select person_id, max(claims) as most, sum(claims) as total
            from visits group by person_id having sum(claims) >= 4
        )
        select sum(most) / sum(total) from members
        """
    ).fetchone()[0]
    assert share >= 0.4, share


def test_duplicate_billing_resubmits_an_existing_claim(result: GenerationResult) -> None:
    lines = frame(result.tables["medical_claim"])
    duplicates = claims_by_scheme(result, "duplicate_billing")
    assert duplicates
    key = [
        "person_id",
        "rendering_npi",
        "claim_start_date",
        "claim_end_date",
        "claim_line_number",
        "hcpcs_code",
        "charge_amount",
        "paid_amount",
    ]
    dup_lines = lines[lines["claim_id"].isin(duplicates)]
    originals = lines[~lines["claim_id"].isin(duplicates)]
    matched = dup_lines.merge(originals, on=key, suffixes=("", "_original"))
    assert set(matched["claim_id"]) == duplicates
    assert (matched["ingest_datetime"] > matched["ingest_datetime_original"]).all()


def test_phantom_billing_lines_fall_outside_coverage(
    flags: pd.DataFrame, result: GenerationResult
) -> None:
    phantom = flags[flags["claim_id"].isin(claims_by_scheme(result, "phantom_billing"))]
    assert len(phantom) == result.phantom_billing_lines > 0
    assert (phantom["outside_enrollment"] | phantom["after_death"]).all()


def test_siu_investigations_are_biased_towards_big_and_fraudulent_claims(
    con: duckdb.DuckDBPyConnection, result: GenerationResult
) -> None:
    claims = con.execute(
        """
        with totals as (
            select claim_id, sum(charge_amount) as total_charge
            from medical_claim where claim_id is not null group by claim_id
        )
        select fraud_ground_truth.claim_id, is_fraud, total_charge,
            siu_investigation.claim_id is not null as investigated, outcome
        from fraud_ground_truth
        left join totals using (claim_id)
        left join siu_investigation using (claim_id)
        """
    ).df()
    investigated = claims[claims["investigated"]]
    rest = claims[~claims["investigated"]]
    assert 0.03 < len(investigated) / len(claims) < 0.08
    assert investigated["total_charge"].mean() > 1.5 * rest["total_charge"].mean()
    assert investigated["is_fraud"].mean() > 3 * claims["is_fraud"].mean()
    confirmed_if_fraud = investigated.loc[investigated["is_fraud"], "outcome"] == "confirmed_fraud"
    clean_if_clean = investigated.loc[~investigated["is_fraud"], "outcome"] == "no_fraud"
    assert confirmed_if_fraud.mean() > 0.7
    assert clean_if_clean.mean() > 0.8


def test_siu_closed_dates_follow_claim_end(
    valid_lines: str, con: duckdb.DuckDBPyConnection
) -> None:
    lags = con.execute(
        """
        select investigation_closed_date - max(claim_end_date) as lag
        from siu_investigation inner join valid_lines using (claim_id)
        group by claim_id, investigation_closed_date
        """
    ).df()["lag"]
    assert lags.between(30, 200).all()


# --- malformed lines -----------------------------------------------------------------------------


def test_malformed_counts_per_kind(config: GeneratorConfig, result: GenerationResult) -> None:
    expected = round(config.malformed_rate * N_LINES / len(MALFORMED_KINDS))
    assert set(result.malformed_counts) == set(MALFORMED_KINDS)
    for kind, count in result.malformed_counts.items():
        assert 0.8 * expected <= count <= expected, kind
        assert result.malformed_rows[kind].size == count
    all_rows = np.concatenate(list(result.malformed_rows.values()))
    assert np.unique(all_rows).size == all_rows.size  # one kind per corrupted line


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_malformed_line_breaks_exactly_its_rule(
    flags: pd.DataFrame, result: GenerationResult, kind: str
) -> None:
    broken = flags.loc[result.malformed_rows[kind], list(MALFORMED_KINDS)]
    assert broken[kind].all(), kind
    assert (broken.sum(axis=1) == 1).all(), broken[broken.sum(axis=1) != 1]


def test_clean_lines_break_no_rule(
    flags: pd.DataFrame, result: GenerationResult, malformed_rows: np.ndarray
) -> None:
    phantom = flags["claim_id"].isin(claims_by_scheme(result, "phantom_billing"))
    clean = flags[~flags.index.isin(malformed_rows) & ~phantom]
    broken = clean[list(MALFORMED_KINDS)].any(axis=1)
    assert not broken.any(), clean[broken].head()


def test_rules_on_parquet_count_the_injected_lines(
    con: duckdb.DuckDBPyConnection, dataset_dir: Path
) -> None:
    manifest = json.loads((dataset_dir / MANIFEST_FILE).read_text())
    injected = manifest["malformed_counts"]
    invalid_units = con.execute(
        "select count(*) from medical_claim where service_unit_quantity is null "
        f"or service_unit_quantity <= 0 or service_unit_quantity > {MAX_PLAUSIBLE_UNITS}"
    ).fetchone()[0]
    unknown_rendering = con.execute(
        "select count(*) from medical_claim "
        "where rendering_npi not in (select npi from provider) "
        "or billing_npi not in (select npi from provider) "
        "or facility_npi not in (select npi from provider)"
    ).fetchone()[0]
    after_death = con.execute(
        """
        select count(*) from medical_claim
        inner join (select person_id, max(death_date) as death_date
                    from eligibility group by person_id) using (person_id)
        left join fraud_ground_truth using (claim_id)
        where claim_line_start_date > death_date
            and coalesce(scheme, '') <> 'phantom_billing'
        """
    ).fetchone()[0]
    assert invalid_units == injected["invalid_units"]
    assert unknown_rendering == injected["unknown_provider"]
    assert after_death == injected["after_death"]


# --- valid lines ---------------------------------------------------------------------------------


def test_valid_lines_amounts_are_consistent(
    con: duckdb.DuckDBPyConnection, valid_lines: str
) -> None:
    amounts = query(con, f"select paid_amount, allowed_amount, charge_amount from {valid_lines}")
    assert (amounts["paid_amount"] > 0).all()
    assert (amounts["paid_amount"] <= amounts["allowed_amount"]).all()
    assert (amounts["allowed_amount"] <= amounts["charge_amount"]).all()


def test_valid_lines_dates_fit_enrollment_period_and_ingest(
    con: duckdb.DuckDBPyConnection, valid_lines: str, config: GeneratorConfig
) -> None:
    outside = con.execute(
        """
        select count(*) from valid_lines
        where not exists (
            select 1 from eligibility
            where eligibility.person_id = valid_lines.person_id
                and claim_start_date >= enrollment_start_date
                and claim_end_date <= enrollment_end_date
                and claim_end_date <= coalesce(death_date, date '9999-12-31')
        )
        """
    ).fetchone()[0]
    assert outside == 0
    dates = query(
        con,
        "select claim_start_date, claim_end_date, claim_line_start_date, claim_line_end_date, "
        "paid_date, cast(ingest_datetime as date) as ingest_date, "
        "coalesce(scheme = 'duplicate_billing', false) as resubmitted "
        f"from {valid_lines} left join fraud_ground_truth using (claim_id)",
    )
    assert (dates["claim_start_date"] <= dates["claim_line_start_date"]).all()
    assert (dates["claim_line_start_date"] <= dates["claim_line_end_date"]).all()
    assert (dates["claim_line_end_date"] <= dates["claim_end_date"]).all()
    assert (dates["claim_end_date"] < dates["paid_date"]).all()
    assert (dates["paid_date"] < dates["ingest_date"]).all()
    lag = (dates["paid_date"] - dates["claim_end_date"]).dt.days
    assert lag[~dates["resubmitted"]].between(2, 60).all()
    assert lag[dates["resubmitted"]].between(16, 180).all()
    start = pd.Timestamp(config.start_date)
    end = pd.Timestamp(config.end_date)
    assert dates["claim_start_date"].between(start, end).all()
    assert dates["claim_end_date"].between(start, end).all()


def test_claim_lines_share_claim_level_fields(
    con: duckdb.DuckDBPyConnection, valid_lines: str
) -> None:
    per_claim = query(
        con,
        "select claim_id, count(distinct person_id) as members, "
        "count(distinct claim_type) as types, count(distinct ingest_datetime) as ingests, "
        f"count(distinct billing_npi) as billers from {valid_lines} group by claim_id",
    )
    assert (per_claim[["members", "types", "ingests", "billers"]] == 1).all().all()


def test_claim_types_and_type_specific_codes(result: GenerationResult) -> None:
    lines = frame(result.tables["medical_claim"])
    professional = lines["claim_type"] == "professional"
    assert 0.8 < professional.mean() < 0.9
    claims = lines.drop_duplicates("claim_id")
    assert 0.83 < (claims["claim_type"] == "professional").mean() < 0.93
    assert lines.loc[professional, "place_of_service_code"].notna().all()
    assert lines.loc[~professional, "place_of_service_code"].isna().all()
    assert lines.loc[professional, ["bill_type_code", "revenue_center_code"]].isna().all().all()
    assert lines.loc[~professional, ["bill_type_code", "revenue_center_code"]].notna().all().all()
    assert lines.loc[professional, "facility_npi"].isna().all()
    assert (lines["diagnosis_code_type"] == "icd-10-cm").all()
    assert (lines["data_source"] == "synthetic_claims").all()


def test_valid_lines_reference_known_providers_and_orgs_bill(
    con: duckdb.DuckDBPyConnection, valid_lines: str
) -> None:
    billing = con.execute(
        """
        select rendering.entity_type as rendering_type, billing.entity_type as billing_type,
            rendering.provider_specialty = billing.provider_specialty as same_specialty
        from valid_lines
        inner join provider as rendering on rendering_npi = rendering.npi
        inner join provider as billing on billing_npi = billing.npi
        """
    ).df()
    assert len(billing) == con.execute(f"select count(*) from {valid_lines}").fetchone()[0]
    assert (billing["billing_type"] == "2").all()
    assert billing["same_specialty"].all()
    assert (billing["rendering_type"] == "1").mean() > 0.7


def test_provider_table(result: GenerationResult, reference: ReferenceData) -> None:
    providers = frame(result.tables["provider"])
    assert providers["npi"].is_unique
    assert providers["npi"].str.fullmatch(r"[12]\d{9}").all()
    assert set(providers["provider_specialty"]) == set(reference.specialties["provider_specialty"])
    assert set(providers["entity_type"]) == {"1", "2"}
    entity = reference.specialties.set_index("provider_specialty")["entity_type"]
    organizations_by_ref = providers["provider_specialty"].map(entity) == "2"
    assert (providers.loc[organizations_by_ref, "entity_type"] == "2").all()


def test_provider_volumes_are_heavy_tailed(result: GenerationResult) -> None:
    lines = frame(result.tables["medical_claim"])
    per_provider = lines.groupby("rendering_npi")["claim_id"].nunique().sort_values()
    top_decile = per_provider.iloc[-max(1, len(per_provider) // 10) :].sum()
    assert top_decile / per_provider.sum() > 0.3
    per_member = lines.groupby("person_id")["claim_id"].nunique()
    assert per_member.max() > 8 * per_member.median()


def test_eligibility_shape(result: GenerationResult, reference: ReferenceData) -> None:
    eligibility = frame(result.tables["eligibility"])
    members = eligibility.drop_duplicates("person_id")
    spans = eligibility.groupby("person_id").size()
    assert len(members) == result.n_members
    assert 0.05 < (spans == 2).mean() < 0.15
    assert spans.max() <= 2
    assert 0.003 < members["death_date"].notna().mean() < 0.03
    assert set(members["gender"]) <= {"female", "male", "unknown"}
    assert set(members["state"]) <= set(reference.state_regions["state"])
    assert members["zip_code"].str.fullmatch(r"\d{5}").all()
    assert (eligibility["enrollment_start_date"] <= eligibility["enrollment_end_date"]).all()
    ordered = eligibility.sort_values(["person_id", "enrollment_start_date"])
    previous_end = ordered.groupby("person_id")["enrollment_end_date"].shift()
    assert (ordered["enrollment_start_date"] > previous_end).where(previous_end.notna(), True).all()
    age = (pd.Timestamp("2024-01-01") - members["birth_date"]).dt.days / 365.25
    seniors = members[age >= 66]
    assert (seniors["plan"] == "medicare_advantage").mean() > 0.7
    assert (members.loc[age < 64, "plan"] == "medicare_advantage").mean() == 0


def test_seasonality_more_claims_in_winter(result: GenerationResult) -> None:
    lines = frame(result.tables["medical_claim"])
    month = lines.drop_duplicates("claim_id")["claim_start_date"].dt.month
    winter = month.isin([12, 1, 2]).sum()
    summer = month.isin([6, 7, 8]).sum()
    assert winter > 1.15 * summer


# --- knobs: drift and bias -----------------------------------------------------------------------


def test_drift_raises_charges_and_telehealth_after_drift_start(reference: ReferenceData) -> None:
    base = GeneratorConfig(n_lines=20_000, seed=11, malformed_rate=0.0)
    drift_start = date(2025, 1, 1)
    plain = frame(generate_dataset(base, reference)["medical_claim"])
    drifted = frame(
        generate_dataset(replace(base, drift_start=drift_start), reference)["medical_claim"]
    )

    def after(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["claim_start_date"] >= pd.Timestamp(drift_start)]

    def log_charge(frame: pd.DataFrame) -> float:
        return float(np.log(frame["charge_amount"].astype(float)).mean())

    def telehealth(frame: pd.DataFrame) -> float:
        return float((frame["place_of_service_code"] == "02").mean())

    assert log_charge(after(drifted)) > log_charge(after(plain)) + 0.2
    assert telehealth(after(drifted)) > telehealth(after(plain)) + 0.05
    before_plain = plain[plain["claim_start_date"] < pd.Timestamp(drift_start)]
    before_drifted = drifted[drifted["claim_start_date"] < pd.Timestamp(drift_start)]
    assert log_charge(before_drifted) == pytest.approx(log_charge(before_plain), abs=0.02)


@pytest.mark.parametrize(
    ("attribute", "group"),
    [("gender", "female"), ("age_group", "65+"), ("region", "South")],
)
def test_bias_raises_fraud_rate_in_the_group(
    reference: ReferenceData, attribute: str, group: str
) -> None:
    config = GeneratorConfig(
        n_lines=30_000, seed=5, bias_attribute=attribute, bias_group=group, bias_factor=3.0
    )
    tables = generate_dataset(config, reference)
    with duckdb.connect() as connection:
        for name, table in tables.items():
            connection.register(name, table)
        claims = connection.execute(
            """
            with members as (
                select distinct person_id, gender, birth_date, state from eligibility
            )
            select distinct claim_id, gender, state, is_fraud,
                scheme in ('upcoding', 'unbundling', 'excessive_units') as biased_scheme,
                date_diff('year', birth_date, claim_start_date)
                    - case when strftime(claim_start_date, '%m%d') < strftime(birth_date, '%m%d')
                        then 1 else 0 end as age
            from medical_claim
            inner join members using (person_id)
            inner join fraud_ground_truth using (claim_id)
            """
        ).df()
    regions = reference.state_regions.set_index("state")["region"]
    in_group = {
        "gender": claims["gender"] == group,
        "age_group": claims["age"] >= 65,
        "region": claims["state"].map(regions) == group,
    }[attribute]
    biased = claims["biased_scheme"].fillna(False).astype(bool)
    assert biased[in_group].mean() > 2.0 * biased[~in_group].mean()


def test_without_the_bias_knob_fraud_does_not_depend_on_age(reference: ReferenceData) -> None:
    """Fraud claims follow the members' claim propensity: older members file more claims, so a
    scheme that picked members uniformly would make fraud rarer among them (a model trained
    on such data fails a disparate impact gate for a reason the data, not the model, made)."""
    tables = generate_dataset(GeneratorConfig(n_lines=150_000, seed=11), reference)
    with duckdb.connect() as connection:
        for name, table in tables.items():
            connection.register(name, table)
        rates = connection.execute(
            """
            with members as (select distinct person_id, birth_date from eligibility),
            claims as (
                select claim_id, min(person_id) as person_id, min(claim_start_date) as day
                from medical_claim
                group by claim_id
            )
            select date_diff('year', birth_date, day) >= 50 as older, avg(is_fraud::int)
            from claims
            inner join members using (person_id)
            inner join fraud_ground_truth using (claim_id)
            where scheme is distinct from 'phantom_billing'
            group by 1
            """
        ).fetchall()
    by_age = dict(rates)
    assert 0.85 < by_age[True] / by_age[False] < 1.18, by_age


def test_bias_scales_charges_in_the_group(reference: ReferenceData) -> None:
    base = GeneratorConfig(n_lines=20_000, seed=5, malformed_rate=0.0)
    biased = replace(base, bias_attribute="gender", bias_group="male", bias_factor=3.0)
    means = []
    for config in (base, biased):
        tables = generate_dataset(config, reference)
        lines = frame(tables["medical_claim"])
        gender = frame(tables["eligibility"]).drop_duplicates("person_id")
        lines = lines.merge(gender[["person_id", "gender"]], on="person_id")
        log_charge = np.log(lines["charge_amount"].astype(float))
        means.append(log_charge[lines["gender"] == "male"].mean())
    assert means[1] > means[0] + np.log(2.0) - 0.15


# --- CLI and writing -----------------------------------------------------------------------------


def test_cli_writes_all_tables_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    code = main(
        [
            "generate",
            "--lines",
            "5000",
            "--seed",
            "3",
            "--out",
            str(out),
            "--fraud-rate",
            "upcoding=0.02",
            "--drift-start",
            "2025-06-01",
            "--no-progress",
        ]
    )
    assert code == 0
    for name in TABLE_NAMES:
        assert (out / f"{name}.parquet").is_file(), name
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["config"]["n_lines"] == 5000
    assert manifest["config"]["fraud_rates"]["upcoding"] == 0.02
    assert manifest["config"]["drift_start"] == "2025-06-01"
    assert manifest["row_counts"]["medical_claim"] == 5000
    assert set(manifest["malformed_counts"]) == set(MALFORMED_KINDS)
    assert set(manifest["fraud_claims"]) == set(SCHEMES)
    assert manifest["elapsed_seconds"] > 0
    assert manifest["generator_version"]
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"select count(*) from read_parquet('{out / 'medical_claim.parquet'}')"
        ).fetchone()[0]
    assert rows == 5000


def test_cli_rejects_bad_config_with_the_option_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["generate", "--lines", "5000", "--out", str(tmp_path), "--malformed-rate", "2"])
    assert code == 2
    assert "malformed_rate" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_rejects_an_unknown_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "--lines", "5000", "--out", str(tmp_path), "--bias-attribute", "region"]
    code = main([*args, "--bias-group", "Atlantis"])
    assert code == 2
    assert "bias_group" in capsys.readouterr().err


def test_cli_requires_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([])
    assert "generate" in capsys.readouterr().err


def test_written_parquet_round_trips(dataset_dir: Path, result: GenerationResult) -> None:
    for name, table in result.tables.items():
        read = pq.read_table(dataset_dir / f"{name}.parquet")
        assert read.equals(table), name
    metadata = pq.ParquetFile(dataset_dir / "medical_claim.parquet").metadata
    assert metadata.row_group(0).column(0).compression == "SNAPPY"
