{#
    One row per member and rendering provider: the member's first valid claim with the
    provider, and whether that first visit is to a new provider. A first visit is only known to
    be new once the member has history: when the member's first claim of all came at least var
    member_history_days (180) days earlier. Without that, the first claims of the data would all
    look like new providers (the data starts, the members' care does not).
    Point in time: later claims never move a first visit (it is a minimum over dates) nor its
    member's first claim.
#}

with

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

provider_firsts as (

    select
        person_id,
        rendering_npi,
        min({{ day_number('claim_start_date') }}) as first_day_number

    from member_history
    group by person_id, rendering_npi

),

member_firsts as (

    select
        person_id,
        min(first_day_number) as member_first_day_number

    from provider_firsts
    group by person_id

),

final as (

    select
        provider_firsts.person_id,
        provider_firsts.rendering_npi,
        provider_firsts.first_day_number,
        provider_firsts.first_day_number - member_firsts.member_first_day_number
        >= {{ checked_var('member_history_days') }} as is_new_provider

    from provider_firsts
    inner join member_firsts
        on provider_firsts.person_id = member_firsts.person_id

)

select * from final
