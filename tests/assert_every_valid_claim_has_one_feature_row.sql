{#
    No valid claim goes without features, and none has two rows: every claim of the valid lines
    has exactly one row in fct_claim_features, and fct_claim_features holds no other claim.
    Returns one row per claim that breaks this (and so fails the build at error severity),
    with the number of feature rows it has.
#}

with

valid_claims as (

    select distinct claim_id from {{ ref('int_claim_lines_validated') }}

),

feature_rows as (

    select
        claim_id,
        count(*) as feature_row_count
    from {{ ref('fct_claim_features') }}
    group by claim_id

),

compared as (

    select
        coalesce(valid_claims.claim_id, feature_rows.claim_id) as claim_id,
        valid_claims.claim_id is not null as is_valid_claim,
        coalesce(feature_rows.feature_row_count, 0) as feature_row_count
    from valid_claims
    full outer join feature_rows
        on valid_claims.claim_id = feature_rows.claim_id

)

select *
from compared
where not is_valid_claim or feature_row_count <> 1
