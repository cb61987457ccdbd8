{#
    One row per rendering provider (NPI) and 30-day period (days since 1970-01-01 divided by 30)
    in which it has claims: how much of the provider's recent new patients came together with
    one other provider's, the community a ring of providers sharing a set of members forms.
    provider_community_share is, over the six periods before (the period itself excluded), the
    largest number of the provider's new patients who also went to one same other provider as a
    new patient within 30 days, divided by its new patients (int_member_first_visits), capped at
    1; null with fewer than 5 new patients. Honest providers' new patients go on to many
    different providers; a ring's go to the ring. Point in time: only earlier periods count.
#}

with

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

first_visits as (

    select * from {{ ref('int_member_first_visits') }}

),

new_visits as (

    select
        person_id,
        rendering_npi,
        first_day_number,
        cast(floor(first_day_number / 30) as integer) as period_number

    from first_visits
    where is_new_provider

),

-- a new patient who also went to another provider as a new patient within 30 days, counted in
-- the period of the later of the two visits
pair_events as (

    select
        person_id,
        rendering_npi,
        other_npi,
        cast(floor(pair_day_number / 30) as integer) as period_number

    from {{ ref('int_new_patient_pairs') }}

),

claim_days as (

    select
        rendering_npi,
        {{ day_number('claim_start_date') }} as day_number

    from member_history

),

provider_periods as (

    select distinct
        rendering_npi,
        cast(floor(day_number / 30) as integer) as period_number

    from claim_days

),

new_patients as (

    select
        provider_periods.rendering_npi,
        provider_periods.period_number,
        count(*) as new_patients_prior_6_periods

    from provider_periods
    inner join new_visits
        on
            provider_periods.rendering_npi = new_visits.rendering_npi
            and new_visits.period_number
            between provider_periods.period_number - 6 and provider_periods.period_number - 1
    group by provider_periods.rendering_npi, provider_periods.period_number

),

shared_with as (

    select
        provider_periods.rendering_npi,
        provider_periods.period_number,
        pair_events.other_npi,
        count(distinct pair_events.person_id) as shared_new_patients

    from provider_periods
    inner join pair_events
        on
            provider_periods.rendering_npi = pair_events.rendering_npi
            and pair_events.period_number
            between provider_periods.period_number - 6 and provider_periods.period_number - 1
    group by provider_periods.rendering_npi, provider_periods.period_number, pair_events.other_npi

),

top_partner as (

    select
        rendering_npi,
        period_number,
        max(shared_new_patients) as top_partner_new_patients

    from shared_with
    group by rendering_npi, period_number

),

final as (

    select
        provider_periods.rendering_npi,
        provider_periods.period_number,
        coalesce(new_patients.new_patients_prior_6_periods, 0) as new_patients_prior_6_periods,
        coalesce(top_partner.top_partner_new_patients, 0) as top_partner_new_patients,
        case
            when new_patients.new_patients_prior_6_periods >= 5
                then
                    least(
                        cast(coalesce(top_partner.top_partner_new_patients, 0) as double)
                        / new_patients.new_patients_prior_6_periods,
                        1.0
                    )
        end as provider_community_share

    from provider_periods
    left join new_patients
        on
            provider_periods.rendering_npi = new_patients.rendering_npi
            and provider_periods.period_number = new_patients.period_number
    left join top_partner
        on
            provider_periods.rendering_npi = top_partner.rendering_npi
            and provider_periods.period_number = top_partner.period_number

)

select * from final
