{#
    One row per service billed on more than one claim: the same member, rendering provider,
    procedure code and service date appearing under different claim ids (duplicate billing).
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

services as (

    select
        person_id,
        rendering_npi,
        hcpcs_code,
        claim_line_start_date as service_date,
        count(distinct claim_id) as claim_count

    from valid_lines
    group by person_id, rendering_npi, hcpcs_code, claim_line_start_date

),

duplicated as (

    select *
    from services
    where claim_count > 1

)

select * from duplicated
