{# list_element on Spark and Databricks: element_at, 1-based as on DuckDB. #}
{% macro spark__list_element(expression, position) -%}
    element_at({{ expression }}, {{ position | int }})
{%- endmacro %}
