{#
    One row per member (person_id): demographics from the most recent enrollment span and the
    census region of the member's state. Protected attributes for monitoring live here.
#}

with

eligibility as (

    select * from {{ ref('stg_claims__eligibility') }}

),

state_regions as (

    select * from {{ ref('ref_state_regions') }}

),

ranked_spans as (

    select
        *,
        row_number() over (
            partition by person_id
            order by enrollment_start_date desc, enrollment_end_date desc
        ) as span_recency

    from eligibility
    where person_id is not null

),

span_counts as (

    select
        person_id,
        count(*) as enrollment_span_count,
        max(death_date) as death_date

    from eligibility
    where person_id is not null
    group by person_id

),

profile as (

    select
        ranked_spans.person_id,
        ranked_spans.gender,
        ranked_spans.birth_date,
        span_counts.death_date,
        ranked_spans.state as member_state,
        ranked_spans.plan,
        span_counts.enrollment_span_count,
        coalesce(state_regions.region, 'Unknown') as member_region

    from ranked_spans
    inner join span_counts
        on ranked_spans.person_id = span_counts.person_id
    left join state_regions
        on ranked_spans.state = state_regions.state
    where ranked_spans.span_recency = 1

)

select * from profile
