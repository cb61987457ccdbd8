{#
    One row per rendering provider (NPI) and claim start date on which the provider has claims:
    how much of the provider's recent work is on members who were going from new provider to
    new provider, the trace a ring of providers billing a shared set of members leaves.
    provider_shared_member_share is the share of the provider's claims that started in the 90
    days before (the day itself excluded) whose member had gone to at least two new providers
    in the 30 days before that claim (int_claim_provider_network); null with fewer than 5 such
    claims (a ring's providers can be small practices: a higher bar would hide them). Point in
    time: only claims of earlier days count.
#}

with

claim_network as (

    select * from {{ ref('int_claim_provider_network') }}

),

provider_days as (

    select
        rendering_npi,
        claim_start_date as as_of_date,
        {{ day_number('claim_start_date') }} as as_of_day_number,
        count(*) as day_claim_count,
        sum(case when member_new_providers_prior_30d >= 2 then 1 else 0 end)
            as day_shared_member_claim_count

    from claim_network
    group by rendering_npi, claim_start_date

),

running as (

    select
        rendering_npi,
        as_of_date,
        coalesce(sum(day_claim_count) over provider_before, 0) as provider_claims_prior_90d,
        coalesce(sum(day_shared_member_claim_count) over provider_before, 0)
            as provider_shared_member_claims_prior_90d

    from provider_days
    window provider_before as (
        partition by rendering_npi
        order by as_of_day_number
        range between 90 preceding and 1 preceding
    )

),

final as (

    select
        *,
        case
            when provider_claims_prior_90d >= 5
                then cast(provider_shared_member_claims_prior_90d as double) / provider_claims_prior_90d
        end as provider_shared_member_share

    from running

)

select * from final
