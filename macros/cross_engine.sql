{#
    Dialect differences live here, behind adapter.dispatch, never inline in models.
    DuckDB is the default; Spark and Databricks (which falls back to spark__) get their own.
#}

{# Whole days since 1970-01-01: an integer to order range window frames by. #}
{% macro day_number(date_expression) -%}
    {{ dbt.datediff("cast('1970-01-01' as date)", date_expression, 'day') }}
{%- endmacro %}

{# True when the date falls on a Saturday or a Sunday. #}
{% macro is_weekend(date_expression) -%}
    {{ return(adapter.dispatch('is_weekend', 'claims_fraud')(date_expression)) }}
{%- endmacro %}

{% macro default__is_weekend(date_expression) -%}
    (isodow({{ date_expression }}) in (6, 7))
{%- endmacro %}

{% macro spark__is_weekend(date_expression) -%}
    (dayofweek({{ date_expression }}) in (1, 7))
{%- endmacro %}

{# Age in whole years on a date, from a date of birth. #}
{% macro age_in_years(birth_date, as_of_date) -%}
    floor({{ dbt.datediff(birth_date, as_of_date, 'day') }} / 365.25)
{%- endmacro %}

{# The age bands monitoring uses for disparate impact. #}
{% macro age_group(birth_date, as_of_date) -%}
    case
        when {{ birth_date }} is null then 'unknown'
        when {{ age_in_years(birth_date, as_of_date) }} < 18 then '0-17'
        when {{ age_in_years(birth_date, as_of_date) }} < 35 then '18-34'
        when {{ age_in_years(birth_date, as_of_date) }} < 50 then '35-49'
        when {{ age_in_years(birth_date, as_of_date) }} < 65 then '50-64'
        else '65+'
    end
{%- endmacro %}

{# Incremental strategy per engine: DuckDB replaces by key, Delta merges. #}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'claims_fraud')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{# Hooks run inside the adapter's open transaction: DuckDB needs a commit, Spark has none. #}
{% macro commit_hook_writes() -%}
    {{ return(adapter.dispatch('commit_hook_writes', 'claims_fraud')()) }}
{%- endmacro %}

{% macro default__commit_hook_writes() -%}
    {% do adapter.commit() %}
{%- endmacro %}

{% macro spark__commit_hook_writes() -%}
{%- endmacro %}
