{# Hooks run inside the adapter's open transaction: DuckDB needs a commit, Spark has none. #}
{% macro commit_hook_writes() -%}
    {{ return(adapter.dispatch('commit_hook_writes', 'claims_fraud')()) }}
{%- endmacro %}

{% macro default__commit_hook_writes() -%}
    {% do adapter.commit() %}
{%- endmacro %}
