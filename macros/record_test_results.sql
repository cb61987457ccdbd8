{#
    on-run-end: append the outcome of every data test and unit test of this invocation to
    <target schema>_audit.dbt_test_results. The promotion gate reads it ("no error-level data
    test failed in the build"), on DuckDB and Databricks alike, without dbt artifacts on disk.
    One statement per run_query call: Spark SQL runs one statement at a time.
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
                identifier='dbt_test_results'
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
                    completed_at timestamp
                )
            {%- endcall -%}
            {%- for batch in tested | batch(500) -%}
                {%- call statement('insert_test_results', fetch_result=false) -%}
                    insert into {{ audit }} values
                    {%- for result in batch %}
                        (
                            '{{ invocation_id }}',
                            '{{ result.node.unique_id }}',
                            '{{ result.node.resource_type }}',
                            '{{ result.status }}',
                            '{{ (result.node.config.severity or "ERROR") | upper }}',
                            {{ result.failures if result.failures is not none else 'null' }},
                            '{{ (result.message or "") | replace("'", "''") | truncate(1000, true, "") }}',
                            cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
                        ){{ "," if not loop.last }}
                    {%- endfor %}
                {%- endcall -%}
            {%- endfor -%}
            {%- do commit_hook_writes() -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
