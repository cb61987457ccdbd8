{#
    One row per rendering provider (NPI) and claim start date on which the provider has claims:
    how many other providers it keeps sharing new patients with, the clique a ring of providers
    billing a shared set of members forms. provider_network_partners counts the other providers
    with which at least {{ min_shared_members }} members went to both as new patients within 30
    days of each other (int_new_patient_pairs), the pairs made 1 to {{ window_days }} days
    before (the day itself excluded). A ring's provider has its 4-7 ring-mates; an honest
    provider mostly one or two, by chance. Unlike the shares of int_provider_community and
    int_claim_provider_network, the count does not thin out when a ring's provider also has a
    busy honest practice. Point in time: only pairs known on earlier days count.
#}
{%- set window_days = 180 %}
{%- set min_shared_members = 3 %}

with

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

pair_events as (

    select * from {{ ref('int_new_patient_pairs') }}

),

provider_days as (

    select distinct
        rendering_npi,
        claim_start_date as as_of_date,
        {{ day_number('claim_start_date') }} as as_of_day_number

    from member_history

),

shared_with as (

    select
        provider_days.rendering_npi,
        provider_days.as_of_date,
        pair_events.other_npi,
        count(distinct pair_events.person_id) as shared_new_patients

    from provider_days
    inner join pair_events
        on
            provider_days.rendering_npi = pair_events.rendering_npi
            and pair_events.pair_day_number
            between provider_days.as_of_day_number - {{ window_days }}
            and provider_days.as_of_day_number - 1
    group by provider_days.rendering_npi, provider_days.as_of_date, pair_events.other_npi

),

partners as (

    select
        rendering_npi,
        as_of_date,
        sum(case when shared_new_patients >= {{ min_shared_members }} then 1 else 0 end)
            as network_partners

    from shared_with
    group by rendering_npi, as_of_date

),

final as (

    select
        provider_days.rendering_npi,
        provider_days.as_of_date,
        cast(coalesce(partners.network_partners, 0) as integer) as provider_network_partners

    from provider_days
    left join partners
        on
            provider_days.rendering_npi = partners.rendering_npi
            and provider_days.as_of_date = partners.as_of_date

)

select * from final
