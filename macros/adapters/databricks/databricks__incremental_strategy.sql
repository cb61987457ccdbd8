{# incremental_strategy on Databricks (Delta, dbt-databricks >= 1.10): delete+insert, as on
   DuckDB; see macros/cross_engine/incremental_strategy.sql. #}
{% macro databricks__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}
