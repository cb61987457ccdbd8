{#
    The body of the delivery's quarantine-rate tests (tests/assert_quarantine_rate_below_*.sql):
    one row, failing, when the share of the delivery's claim lines sent to claims_quarantine is
    at or above the threshold quarantine_rate_<level> of seeds/monitoring_thresholds.csv, with
    the rate, the threshold, the most frequent reasons and a message.
#}
{% macro quarantine_rate_check(level) %}
{%- set threshold = 'quarantine_rate_' ~ level %}

with

delivered as (

    select count(*) as claim_line_count from {{ ref('int_claim_lines_checked') }}

),

quarantined as (

    select count(*) as quarantined_line_count from {{ ref('claims_quarantine') }}

),

checked_lines as (

    select
        delivered.claim_line_count,
        quarantined.quarantined_line_count
    from delivered
    cross join quarantined

),

top_reason as (

    select
        rejection_reasons,
        count(*) as line_count
    from {{ ref('claims_quarantine') }}
    group by rejection_reasons
    order by line_count desc, rejection_reasons asc
    limit 1

),

thresholds as (

    select {{ threshold_columns([threshold]) }}
    from {{ ref('monitoring_thresholds') }}

),

rated as (

    select
        checked_lines.claim_line_count,
        checked_lines.quarantined_line_count,
        thresholds.{{ threshold }},
        top_reason.rejection_reasons as most_frequent_reasons,
        cast(checked_lines.quarantined_line_count as double)
        / checked_lines.claim_line_count as quarantine_rate
    from checked_lines
    cross join thresholds
    left join top_reason on 1 = 1
    where checked_lines.claim_line_count > 0

)

select
    *,
    'quarantined ' || cast(quarantined_line_count as {{ dbt.type_string() }})
    || ' of ' || cast(claim_line_count as {{ dbt.type_string() }})
    || ' claim lines, at or above {{ threshold }}: see claims_quarantine (most often: '
    || coalesce(most_frequent_reasons, 'none') || ')' as message
from rated
where quarantine_rate >= {{ threshold }}

{% endmacro %}
