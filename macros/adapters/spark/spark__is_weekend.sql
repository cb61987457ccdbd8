{# is_weekend on Spark and Databricks: dayofweek counts Sunday 1 to Saturday 7. #}
{% macro spark__is_weekend(date_expression) -%}
    (dayofweek({{ date_expression }}) in (1, 7))
{%- endmacro %}
