{#
    One row per valid claim: where the claim sits in the network of members and providers,
    the trace a ring of providers billing a shared set of members leaves. A new provider is one
    the member saw as a new patient: first there in member_history_days, after having that much
    history (int_member_first_visits).
    - member_new_providers_prior_30d: providers other than this claim's that the member first
      saw, as new providers, 1 to 30 days before the claim. Members mostly go back to providers
      they know; a ring's members go to several new ones within weeks.
    - provider_pair_shared_members: over those providers, the largest number of other members
      who went to both that provider and this claim's provider as new providers within 30 days
      of each other, both first visits 1 to 180 days before this claim (0 without any). A pair
      of providers that keeps receiving the same new members is a community.
    - provider_pair_shared_member_share: over those providers, the largest such number divided
      by the new patients of the smaller of the two (each counted over the 180 days before its
      own day: this claim's start for this claim's provider, the member's first visit for the
      other), capped at 1. Honest busy providers share many new members by chance; a ring's
      providers share most of theirs.
    - is_new_patient: this claim is a first visit of the member to this claim's provider, as a
      new provider (int_member_first_visits).
    Point in time: only first visits before this claim's start date count (and this claim's
    own, for is_new_patient).
#}

with

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

first_visits as (

    select * from {{ ref('int_member_first_visits') }}

),

claims as (

    select
        claim_id,
        person_id,
        rendering_npi,
        claim_start_date,
        {{ day_number('claim_start_date') }} as claim_start_day_number

    from member_history

),

new_visits as (

    select
        person_id,
        rendering_npi,
        first_day_number

    from first_visits
    where is_new_provider

),

pair_events as (

    select * from {{ ref('int_new_patient_pairs') }}

),

-- new patients of each provider in the 180 days before each day it has claims
provider_days as (

    select distinct
        rendering_npi,
        claim_start_day_number as day_number
    from claims

),

new_patient_events as (

    select
        rendering_npi,
        first_day_number as day_number,
        1 as new_patient_count
    from new_visits

    union all

    select
        rendering_npi,
        day_number,
        0 as new_patient_count
    from provider_days

),

new_patients_daily as (

    select
        rendering_npi,
        day_number,
        sum(new_patient_count) as day_new_patient_count

    from new_patient_events
    group by rendering_npi, day_number

),

new_patients as (

    select
        rendering_npi,
        day_number,
        coalesce(sum(day_new_patient_count) over (
            partition by rendering_npi
            order by day_number
            range between 180 preceding and 1 preceding
        ), 0) as new_patients_prior_180d

    from new_patients_daily

),

-- each claim with the new providers its member saw in the 30 days before
claim_pairs as (

    select
        claims.claim_id,
        claims.person_id,
        claims.rendering_npi,
        claims.claim_start_day_number,
        new_visits.rendering_npi as other_npi,
        new_visits.first_day_number as other_first_day_number

    from claims
    inner join new_visits
        on
            claims.person_id = new_visits.person_id
            and claims.rendering_npi <> new_visits.rendering_npi
            and new_visits.first_day_number
            between claims.claim_start_day_number - 30 and claims.claim_start_day_number - 1

),

new_providers as (

    select
        claim_id,
        count(*) as member_new_providers_prior_30d

    from claim_pairs
    group by claim_id

),

shared as (

    select
        claim_pairs.claim_id,
        claim_pairs.rendering_npi,
        claim_pairs.claim_start_day_number,
        claim_pairs.other_npi,
        claim_pairs.other_first_day_number,
        count(distinct pair_events.person_id) as shared_members

    from claim_pairs
    inner join pair_events
        on
            claim_pairs.rendering_npi = pair_events.rendering_npi
            and claim_pairs.other_npi = pair_events.other_npi
            and claim_pairs.person_id <> pair_events.person_id
            and pair_events.pair_day_number
            between claim_pairs.claim_start_day_number - 180 and claim_pairs.claim_start_day_number - 1
    group by
        claim_pairs.claim_id,
        claim_pairs.rendering_npi,
        claim_pairs.claim_start_day_number,
        claim_pairs.other_npi,
        claim_pairs.other_first_day_number

),

pairs as (

    select
        shared.claim_id,
        max(shared.shared_members) as provider_pair_shared_members,
        least(
            max(
                cast(shared.shared_members as double)
                / greatest(
                    least(this_provider.new_patients_prior_180d, other_provider.new_patients_prior_180d),
                    1
                )
            ),
            1.0
        ) as provider_pair_shared_member_share

    from shared
    inner join new_patients as this_provider
        on
            shared.rendering_npi = this_provider.rendering_npi
            and shared.claim_start_day_number = this_provider.day_number
    inner join new_patients as other_provider
        on
            shared.other_npi = other_provider.rendering_npi
            and shared.other_first_day_number = other_provider.day_number
    group by shared.claim_id

),

final as (

    select
        claims.claim_id,
        claims.person_id,
        claims.rendering_npi,
        claims.claim_start_date,
        cast(floor(claims.claim_start_day_number / 30) as integer) as period_number,
        coalesce(new_providers.member_new_providers_prior_30d, 0)
            as member_new_providers_prior_30d,
        coalesce(pairs.provider_pair_shared_members, 0) as provider_pair_shared_members,
        coalesce(pairs.provider_pair_shared_member_share, 0) as provider_pair_shared_member_share,
        this_visit.person_id is not null as is_new_patient

    from claims
    left join new_providers
        on claims.claim_id = new_providers.claim_id
    left join pairs
        on claims.claim_id = pairs.claim_id
    left join new_visits as this_visit
        on
            claims.person_id = this_visit.person_id
            and claims.rendering_npi = this_visit.rendering_npi
            and claims.claim_start_day_number = this_visit.first_day_number

)

select * from final
