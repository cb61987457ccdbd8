{#
    One row per member, rendering provider and first visit: the member's first valid claim with
    the provider, and every later one that comes more than var member_history_days (180) days
    after the member's previous claim with that provider (the member comes back as a new
    patient); and whether the visit is to a new provider. A visit is only known to be new once
    the member has history: when the member's first claim of all came at least
    member_history_days earlier. Without that, the first claims of the data would all look like
    new providers (the data starts, the members' care does not).
    Why a provider seen long ago counts again: with "ever seen" the share of new visits falls
    for as long as the data grows (the members have seen more and more providers), and every
    network feature built on new patients drifts against a model's reference; within a window
    it settles once the data is member_history_days older than the visit.
    Point in time: a visit's row depends only on the member's claims up to its day.
#}

with

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

visit_days as (

    select distinct
        person_id,
        rendering_npi,
        {{ day_number('claim_start_date') }} as day_number

    from member_history

),

with_previous as (

    select
        person_id,
        rendering_npi,
        day_number,
        lag(day_number) over (
            partition by person_id, rendering_npi
            order by day_number
        ) as previous_day_number,
        min(day_number) over (partition by person_id) as member_first_day_number

    from visit_days

),

final as (

    select
        person_id,
        rendering_npi,
        day_number as first_day_number,
        day_number - member_first_day_number
        >= {{ checked_var('member_history_days') }} as is_new_provider

    from with_previous
    where
        previous_day_number is null
        or day_number - previous_day_number > {{ checked_var('member_history_days') }}

)

select * from final
