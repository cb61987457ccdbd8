{# percentiles_cont on Spark and Databricks: percentile() interpolates linearly, as numpy's default. #}
{% macro spark__percentiles_cont(expression, fractions) -%}
    percentile({{ expression }}, array({{ fractions | map('float') | join(', ') }}))
{%- endmacro %}
