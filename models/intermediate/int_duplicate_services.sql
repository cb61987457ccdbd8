{#
    One row per claim that bills a service already billed by an earlier claim: the same
    member, rendering provider, procedure code and service date under a different claim id
    ingested before it (duplicate billing). Point in time by ingest: the first claim to arrive
    with a service is not a duplicate, whatever arrives later; two claims ingested at the same
    instant are ordered by claim id.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

claim_services as (

    select
        claim_id,
        person_id,
        rendering_npi,
        hcpcs_code,
        claim_line_start_date as service_date,
        max(ingested_at) as ingested_at

    from valid_lines
    group by claim_id, person_id, rendering_npi, hcpcs_code, claim_line_start_date

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id, rendering_npi, hcpcs_code, service_date
            order by ingested_at, claim_id
        ) as arrival_rank

    from claim_services

),

duplicated as (

    select
        claim_id,
        person_id,
        rendering_npi,
        hcpcs_code,
        service_date,
        arrival_rank

    from ranked
    where arrival_rank > 1

)

select * from duplicated
