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

{% macro databricks__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{#
    A plain Apache Spark session (the local `spark` target, Parquet tables: no Delta jars
    offline) can neither merge nor delete; it appends, so a rerun over keys already present
    duplicates them and the unique tests fail loudly. The local Spark check builds from
    scratch, where no incremental strategy runs.
#}
{% macro spark__incremental_strategy() -%}
    {{ return('append') }}
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

{#
    Seeds on Apache Spark: dbt-spark's session cursor pastes seed values into the INSERT
    unescaped, so a value with a quote (ref_quarantine_reasons: "member's") breaks the SQL.
    Same statement, with the values written as escaped literals. Databricks has its own
    databricks__load_csv_rows and never gets here.
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    {%- set type = column_override.get(col_name, inferred_type) -%}
                    {%- set value = row[loop.index0] -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %},{% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}

{#
    Contract not_null constraints on Apache Spark: dbt-spark sets them with ALTER COLUMN ...
    SET NOT NULL, which only Delta tables support. On the local `spark` target (Parquet) the
    constraint is skipped (the not_null data tests still check the columns); elsewhere (a
    Spark warehouse with Delta) dbt-spark's statement, unchanged.
#}
{% macro spark__alter_column_set_constraints(relation, column_dict) %}
    {%- for column_name in column_dict -%}
        {%- for constraint in column_dict[column_name]['constraints'] -%}
            {%- if constraint.type != 'not_null' -%}
                {{ exceptions.warn('Invalid constraint for column ' ~ column_name ~ '. Only `not_null` is supported.') }}
            {%- elif target.type != 'spark' -%}
                {%- set quoted_name = adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name -%}
                {%- call statement() -%}
                    alter table {{ relation }} change column {{ quoted_name }} set not null {{ constraint.expression or "" }}
                {%- endcall -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{% endmacro %}

{#
    A rescored batch is replaced whole, even when it is now empty: delete+insert deletes only
    the keys present in the new rows, so fraud_scores then deletes the batch's rows scored
    before this run began (post-hook, in the model's transaction: a pre-hook would open the
    transaction before the Python model writes its rows from another cursor, and DuckDB's
    snapshot would not see them). Delta on Databricks; plain Spark (Parquet) cannot delete,
    and the local Spark check scores from scratch.
#}
{% macro delete_earlier_batch_rows(relation, batch_id) -%}
    {{ return(adapter.dispatch('delete_earlier_batch_rows', 'claims_fraud')(relation, batch_id)) }}
{%- endmacro %}

{% macro default__delete_earlier_batch_rows(relation, batch_id) -%}
    delete from {{ relation }}
    where
        batch_id = {{ sql_literal(batch_id) }}
        and scored_at < cast({{ sql_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp)
{%- endmacro %}

{% macro spark__delete_earlier_batch_rows(relation, batch_id) -%}
{%- endmacro %}

{% macro databricks__delete_earlier_batch_rows(relation, batch_id) -%}
    {{ return(default__delete_earlier_batch_rows(relation, batch_id)) }}
{%- endmacro %}
