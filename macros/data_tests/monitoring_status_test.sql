{# The body of the monitoring status tests (tests/generic/monitoring_status.sql). #}
{% macro monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) %}

    {%- set error_rows = "sum(case when monitoring_severity = 'error' then 1 else 0 end)" -%}
    {{ config(
        fail_calc="case when " ~ error_rows ~ " > 0 then " ~ error_rows ~ " else count(*) end",
        warn_if="> 0",
        error_if="> 0 and " ~ error_rows ~ " > 0",
    ) }}

    {%- if batches not in ('latest', 'all', 'champion') -%}
        {{ exceptions.raise_compiler_error("monitoring status test on " ~ model ~ ": batches must be 'latest', 'all' or 'champion', got " ~ batches) }}
    {%- endif %}

    select
        monitored.*,
        case
            when monitored.{{ column_name }} in ('{{ error_statuses | join("', '") }}') then 'error'
            else 'warn'
        end as monitoring_severity
    from {{ model }} as monitored
    where
        monitored.{{ column_name }} in ('{{ (warn_statuses + error_statuses) | join("', '") }}')
        {%- if batches == 'latest' %}
        and monitored.scored_at = (select max(latest.scored_at) from {{ model }} as latest)
        {%- elif batches == 'champion' %}
        and monitored.model_version = (
            select max(latest.model_version) from {{ model }} as latest
            where latest.scored_at = (select max(newest.scored_at) from {{ model }} as newest)
        )
        {%- endif %}

{% endmacro %}
