{#
    One row per member, ordered pair of providers the member went to as new patients within
    30 days of each other (int_member_first_visits, first visits to a new provider; both
    orders) and pair_day_number (a member back as a new patient months later makes the pair
    again): the links of the member-provider network that a ring of providers sharing a set of
    members leaves. pair_day_number is the later of the two first visits, the day the pair is
    known. The network features (int_claim_provider_network, int_provider_community) count
    these, each only before its own day.
#}

with

first_visits as (

    select * from {{ ref('int_member_first_visits') }}

),

new_visits as (

    select
        person_id,
        rendering_npi,
        first_day_number

    from first_visits
    where is_new_provider

),

pairs as (

    select
        new_visit.person_id,
        new_visit.rendering_npi,
        other_visit.rendering_npi as other_npi,
        greatest(new_visit.first_day_number, other_visit.first_day_number) as pair_day_number

    from new_visits as new_visit
    inner join new_visits as other_visit
        on
            new_visit.person_id = other_visit.person_id
            and new_visit.rendering_npi <> other_visit.rendering_npi
            and abs(new_visit.first_day_number - other_visit.first_day_number) <= 30

)

select * from pairs
