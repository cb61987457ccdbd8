{# True when the date falls on a Saturday or a Sunday. #}
{% macro is_weekend(date_expression) -%}
    {{ return(adapter.dispatch('is_weekend', 'claims_fraud')(date_expression)) }}
{%- endmacro %}

{% macro default__is_weekend(date_expression) -%}
    (isodow({{ date_expression }}) in (6, 7))
{%- endmacro %}
