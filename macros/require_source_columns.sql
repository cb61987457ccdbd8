{#
    Fail early, and clearly, when a raw table lacks a column the source YAML declares.
    Called at the top of every staging model: the error names the raw relation (locally the
    Parquet file) and the missing columns, instead of a binder error deep in a compiled query.
    A missing or unreadable file fails inside the probe query with the engine's own message,
    which names the file. Linting (sqlfluff's dbt templater) sets var check_raw_columns false,
    so lint needs no raw data.
#}
{% macro require_source_columns(source_name, table_name) %}
    {%- if execute and var('check_raw_columns', true) -%}
        {%- set relation = source(source_name, table_name) -%}
        {%- set node = graph.sources.values()
            | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name)
            | first -%}
        {%- set probe = run_query('select * from ' ~ relation ~ ' where 1 = 0') -%}
        {%- set actual = probe.column_names | map('lower') | list -%}
        {%- set missing = [] -%}
        {%- for column_name in node.columns.keys() -%}
            {%- if column_name | lower not in actual -%}
                {%- do missing.append(column_name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing | length > 0 -%}
            {{ exceptions.raise_compiler_error(
                "Raw table " ~ relation ~ " (source " ~ source_name ~ "." ~ table_name ~ ") is missing column(s): "
                ~ missing | join(", ")
                ~ ". The columns it must have are declared in models/staging/claims/_claims__sources.yml."
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
