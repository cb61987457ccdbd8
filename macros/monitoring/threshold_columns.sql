{# One column per threshold of the monitoring_thresholds seed (select from it, one row). #}
{% macro threshold_columns(names) -%}
    {%- for name in names %}
        cast(max(case when threshold_name = {{ sql_literal(name) }} then threshold_value end) as double) as {{ name }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}
