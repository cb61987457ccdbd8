{#
    One row per valid claim: how many other claims the same member had in the 30 and 90 days
    before this claim's start date (the claim's own start day excluded), with the claim's
    rendering provider (its first line's). Point in time: only earlier claims count, so the
    features do not leak the future.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

claims as (

    select
        claim_id,
        min(person_id) as person_id,
        min_by(rendering_npi, claim_line_number) as rendering_npi,
        min(claim_start_date) as claim_start_date

    from valid_lines
    group by claim_id

),

numbered as (

    select
        *,
        {{ day_number('claim_start_date') }} as claim_start_day_number

    from claims

),

history as (

    select
        claim_id,
        person_id,
        rendering_npi,
        claim_start_date,
        count(*) over (
            partition by person_id
            order by claim_start_day_number
            range between 30 preceding and 1 preceding
        ) as member_claims_prior_30d,
        count(*) over (
            partition by person_id
            order by claim_start_day_number
            range between 90 preceding and 1 preceding
        ) as member_claims_prior_90d

    from numbered

)

select * from history
