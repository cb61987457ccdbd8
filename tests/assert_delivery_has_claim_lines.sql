{{ config(store_failures=true) }}
{#
    An empty (or truncated) claims delivery is an error, not a quiet day: fails when the raw
    medical_claim source has fewer lines than the threshold delivery_min_claim_lines
    (seeds/monitoring_thresholds.csv). The failing row says what to check; store_failures keeps
    it in the audit schema (dbt prints the query that shows it).
#}

with

delivered as (

    select count(*) as claim_line_count from {{ ref('stg_claims__medical_claim') }}

),

thresholds as (

    select {{ threshold_columns(['delivery_min_claim_lines']) }}
    from {{ ref('monitoring_thresholds') }}

),

checked as (

    select
        delivered.claim_line_count,
        thresholds.delivery_min_claim_lines,
        'the medical_claim delivery has ' || cast(delivered.claim_line_count as {{ dbt.type_string() }})
        || ' claim lines, fewer than delivery_min_claim_lines = '
        || cast(thresholds.delivery_min_claim_lines as {{ dbt.type_string() }})
        || ': check the Parquet files of medical_claim in the raw folder (CLAIMS_FRAUD_RAW_DIR)'
            as message
    from delivered
    cross join thresholds

)

select *
from checked
where claim_line_count < delivery_min_claim_lines
