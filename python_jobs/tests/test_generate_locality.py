"""Where fraud happens: the generator's fraud is as local as honest care and spread over regions
as claims are, at the default size (the rest of the generator's tests: test_generate.py)."""

from __future__ import annotations

import duckdb
import pytest

from claims_fraud.features.reference import ReferenceData, load_reference
from claims_fraud.synthetic.config import GeneratorConfig
from claims_fraud.synthetic.generate import generate_dataset


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference()


# One claim per row: its member's state (latest span), its provider's state, its scheme.
CLAIM_PLACES_SQL = """
    with claims as (
        select claim_id, min(person_id) as person_id,
            min_by(rendering_npi, claim_line_number) as npi
        from medical_claim
        group by claim_id
    ),
    members as (
        select person_id, arg_max(state, enrollment_start_date) as member_state
        from eligibility
        group by person_id
    )
    select claims.claim_id, claims.person_id, claims.npi, member_state,
        practice_state as provider_state, coalesce(scheme, 'clean') as scheme
    from claims
    inner join members using (person_id)
    inner join provider on claims.npi = provider.npi
    left join fraud_ground_truth using (claim_id)
"""


@pytest.fixture(scope="module")
def default_size(reference: ReferenceData) -> duckdb.DuckDBPyConnection:
    """A dataset of the default size (200,000 lines, a seed the other tests do not use): fraud
    sits with a few providers, so its rates are only stable at that size."""
    tables = generate_dataset(GeneratorConfig(n_lines=200_000, seed=3), reference)
    connection = duckdb.connect()
    for name, table in tables.items():
        connection.register(name, table)
    connection.execute(
        "create table regions as select * from "
        f"read_csv('{reference.seeds_dir / 'ref_state_regions.csv'}')"
    )
    yield connection
    connection.close()


def test_fraud_is_as_local_as_care(default_size: duckdb.DuckDBPyConnection) -> None:
    """Fraudulent providers bill their own patients, as local as honest care: where a member
    lives tells no scheme apart (a model learning "out of state" learns the generator)."""
    out_of_state = (
        default_size.execute(
            f"""
        select scheme, avg(case when member_state <> provider_state then 1.0 else 0 end) as rate,
            count(*) as claims
        from ({CLAIM_PLACES_SQL})
        group by scheme
        """
        )
        .df()
        .set_index("scheme")
    )
    clean = out_of_state.loc["clean", "rate"]
    fraud = out_of_state.drop(index="clean")
    overall = float((fraud["rate"] * fraud["claims"]).sum() / fraud["claims"].sum())
    assert abs(overall - clean) <= 0.05, (overall, clean)
    big = fraud[fraud["claims"] >= 100]
    assert (big["rate"] <= clean + 0.08).all(), out_of_state


def test_without_the_bias_knob_fraud_does_not_depend_on_region(
    default_size: duckdb.DuckDBPyConnection,
) -> None:
    """Schemes' providers and rings are spread over regions as claims are: local fraud does
    not make one region's members the defrauded ones (an accurate model would then fail the
    disparate impact gate for a reason the data made)."""
    rates = (
        default_size.execute(
            f"""
        select region, avg(case when scheme not in ('clean', 'phantom_billing') then 1.0
            else 0 end) as rate
        from ({CLAIM_PLACES_SQL}) as places
        inner join regions on places.member_state = regions.state
        group by region
        """
        )
        .df()
        .set_index("region")["rate"]
    )
    assert rates.max() / rates.min() < 1.4, rates
