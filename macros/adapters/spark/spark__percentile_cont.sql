{# percentile_cont on Spark and Databricks: percentile() interpolates linearly, as numpy's default. #}
{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
