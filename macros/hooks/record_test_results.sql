{#
    on-run-end: append the outcome of every data test and unit test of this invocation to
    <target schema>_audit.dbt_test_results. The promotion gate reads it ("no error-level data
    test failed in the build"), on DuckDB and Databricks alike, without dbt artifacts on disk.
    One statement per run_query call: Spark SQL runs one statement at a time.

    gates_promotion says whether the gate should hold the test against a challenger: false for
    tests of the models the score and monitor selectors build (tags score / monitor), which
    judge the model being replaced, not the data a challenger is trained on; true otherwise
    (sources, staging, validation, features, the training run, reference seeds).
#}
{% macro record_test_results(results) %}
    {%- if execute -%}
        {%- set tested = [] -%}
        {%- for result in results if result.node.resource_type in ('test', 'unit_test') -%}
            {%- do tested.append(result) -%}
        {%- endfor -%}
        {%- if tested | length > 0 -%}
            {%- set audit = api.Relation.create(
                database=target.database or none,
                schema=target.schema ~ '_audit',
                identifier='dbt_test_results',
                type='table'
            ) -%}
            {%- do adapter.create_schema(audit) -%}
            {%- call statement('create_test_results', fetch_result=false) -%}
                create table if not exists {{ audit }} (
                    invocation_id {{ dbt.type_string() }},
                    test_unique_id {{ dbt.type_string() }},
                    resource_type {{ dbt.type_string() }},
                    status {{ dbt.type_string() }},
                    severity {{ dbt.type_string() }},
                    failures bigint,
                    message {{ dbt.type_string() }},
                    completed_at timestamp,
                    gates_promotion boolean
                )
            {%- endcall -%}
            {#- tables written before gates_promotion existed get the column (null: unknown) -#}
            {%- set existing = adapter.get_columns_in_relation(audit) | map(attribute='name') | map('lower') | list -%}
            {%- if 'gates_promotion' not in existing -%}
                {%- do alter_relation_add_remove_columns(audit, [api.Column('gates_promotion', 'boolean')], none) -%}
            {%- endif -%}
            {%- for batch in tested | batch(500) -%}
                {%- call statement('insert_test_results', fetch_result=false) -%}
                    insert into {{ audit }} (
                        invocation_id, test_unique_id, resource_type, status, severity, failures,
                        message, completed_at, gates_promotion
                    ) values
                    {%- for result in batch %}
                        (
                            {{ sql_literal(invocation_id) }},
                            {{ sql_literal(result.node.unique_id) }},
                            {{ sql_literal(result.node.resource_type) }},
                            {{ sql_literal(result.status) }},
                            {{ sql_literal((result.node.config.severity or "ERROR") | upper) }},
                            {{ result.failures | int if result.failures is not none else 'null' }},
                            {{ sql_literal((result.message or "") | truncate(1000, true, "")) }},
                            cast({{ sql_literal(run_started_at.strftime("%Y-%m-%d %H:%M:%S")) }} as timestamp),
                            {{ 'false' if _tests_scored_model(result.node) else 'true' }}
                        ){{ "," if not loop.last }}
                    {%- endfor %}
                {%- endcall -%}
            {%- endfor -%}
            {%- do commit_hook_writes() -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{# True when the test depends on a model of the score or monitor selectors (tags). #}
{% macro _tests_scored_model(test_node) -%}
    {%- for unique_id in test_node.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and ('score' in node.tags or 'monitor' in node.tags) -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
