{# The element at a 1-based position of a list (an array on Spark), per engine. #}
{% macro list_element(expression, position) -%}
    {{ return(adapter.dispatch('list_element', 'claims_fraud')(expression, position)) }}
{%- endmacro %}

{% macro default__list_element(expression, position) -%}
    list_extract({{ expression }}, {{ position | int }})
{%- endmacro %}
