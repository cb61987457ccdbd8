{#
    Nothing is lost: every raw claim line ends in exactly one of the valid lines model or the
    quarantine. Returns a row (and so fails) when the counts do not add up or a line is in both.
#}

with

raw_lines as (

    select count(*) as line_count from {{ ref('stg_claims__medical_claim') }}

),

checked_lines as (

    select count(*) as line_count from {{ ref('int_claim_lines_checked') }}

),

valid_lines as (

    select count(*) as line_count from {{ ref('int_claim_lines_validated') }}

),

quarantined_lines as (

    select count(*) as line_count from {{ ref('claims_quarantine') }}

),

in_both as (

    select count(*) as line_count
    from {{ ref('int_claim_lines_validated') }} as valid_lines
    inner join {{ ref('claims_quarantine') }} as quarantine
        on valid_lines.claim_line_sk = quarantine.claim_line_sk

),

reconciliation as (

    select
        raw_lines.line_count as raw_line_count,
        checked_lines.line_count as checked_line_count,
        valid_lines.line_count as valid_line_count,
        quarantined_lines.line_count as quarantined_line_count,
        in_both.line_count as lines_in_both

    from raw_lines
    cross join checked_lines
    cross join valid_lines
    cross join quarantined_lines
    cross join in_both

)

select *
from reconciliation
where
    raw_line_count <> valid_line_count + quarantined_line_count
    or raw_line_count <> checked_line_count
    or lines_in_both > 0
