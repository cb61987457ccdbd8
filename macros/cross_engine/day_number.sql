{# Whole days since 1970-01-01: an integer to order range window frames by. #}
{% macro day_number(date_expression) -%}
    {{ dbt.datediff("cast('1970-01-01' as date)", date_expression, 'day') }}
{%- endmacro %}
