{#
    The temporary relation of an incremental run on DuckDB, overriding dbt-duckdb's macro of
    the same name (its incremental materialization calls it; no other adapter does, so the
    spark and databricks targets never get here and keep their own handling: both drop the
    Python model's temp table after the merge, dbt-spark in its materialization and
    dbt-databricks through its staging table).

    dbt-duckdb hands every model a connection-local temporary table (`temporary: true`), which
    its materialization leaves to DuckDB to drop when dbt disconnects. A SQL model gets one.
    A Python model cannot: it runs on its own cursor, whose temporary tables the materialization
    would not see, so dbt-duckdb's py_write_table ignores `temporary` and writes a real table,
    unqualified, into the database's default schema (main). Nobody drops it: the
    materialization only drops relations it was told are not temporary. Every incremental run
    of fraud_scores, ml_reference_profile and ml_reference_score_quantiles left a full copy of
    its new rows behind (main.fraud_scores__dbt_tmp<timestamp>, ...), and the file grew.

    So a Python model on a local DuckDB file gets what MotherDuck already gets: a real table,
    said to be one (`temporary: false`), which the materialization drops after its commit.
    It sits beside the model's own table (fully qualified, not in whatever schema the cursor
    defaults to). SQL models and MotherDuck keep dbt-duckdb's answer unchanged.
#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {%- if model.get('language') == 'python' and not adapter.is_motherduck() -%}
        {%- do drop_stale_python_temp_relations(target_relation) -%}
        {%- set relation = target_relation.incorporate(
            path={'identifier': target_relation.identifier ~ '__dbt_tmp' ~ py_current_timestring()}
        ) -%}
        {%- do return({'relation': relation, 'temporary': false}) -%}
    {%- endif -%}
    {%- do return(dbt.duckdb__dispatch_temporary_relation(target_relation, batch_id)) -%}
{% endmacro %}

{#
    A run that fails between writing the Python model's temp table and the materialization's
    drop (the delete+insert fails, dbt is killed) leaves the table behind, and so did every run
    before this override (in the default schema). The model's next run removes them: tables of
    this model's own temp name (<identifier>__dbt_tmp followed by dbt's timestamp digits) in its
    schema and in the default one. DuckDB has one writer per file, so no other run of this
    model can be using them. DuckDB SQL: called only from the override above.
#}
{% macro drop_stale_python_temp_relations(target_relation) %}
    {%- set pattern = target_relation.identifier ~ '__dbt_tmp[0-9]+' -%}
    {#- auto_begin=False: the drops commit on their own, outside the model's transaction -#}
    {%- call statement('find_stale_temp_relations', fetch_result=True, auto_begin=False) -%}
        select table_schema, table_name
        from system.information_schema.tables
        where
            table_catalog = {{ sql_literal(target_relation.database) }}
            and table_schema in ({{ sql_literal(target_relation.schema) }}, current_schema())
            and table_type = 'BASE TABLE'
            and regexp_full_match(table_name, {{ sql_literal(pattern) }})
    {%- endcall -%}
    {%- for row in load_result('find_stale_temp_relations').table -%}
        {%- set stale = api.Relation.create(
            database=target_relation.database, schema=row[0], identifier=row[1], type='table'
        ) -%}
        {%- do log('Dropping leftover temp table ' ~ stale ~ ' of an earlier run', info=true) -%}
        {%- do adapter.drop_relation(stale) -%}
    {%- endfor -%}
{% endmacro %}
