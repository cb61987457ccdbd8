{#
    Incremental strategy per engine. Every incremental model replaces whole keys: a rescored
    batch (unique_key batch_id, many rows per key) or a re-ingested claim. That is
    delete+insert on DuckDB and on Databricks (Delta; dbt-databricks >= 1.10), not merge,
    which refuses several source rows per key.
#}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'claims_fraud')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}
