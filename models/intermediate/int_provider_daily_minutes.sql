{#
    One row per rendering provider and service date: the minutes of time-based services billed
    (typical minutes of the code times units). More than a day has is impossible.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

daily as (

    select
        rendering_npi,
        claim_line_start_date as service_date,
        count(*) as line_count,
        sum(billed_minutes) as billed_minutes

    from valid_lines
    group by rendering_npi, claim_line_start_date

),

final as (

    select
        *,
        billed_minutes > {{ checked_var('minutes_in_a_day') }} as is_impossible_day

    from daily

)

select * from final
