{# sql_literal on Spark and Databricks: a backslash is an escape there, so it is doubled too. #}
{% macro spark__sql_literal(value) -%}
    {{ return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "\\'") ~ "'") }}
{%- endmacro %}
