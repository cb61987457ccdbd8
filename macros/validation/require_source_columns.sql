{#
    Fail early, and clearly, when a raw table lacks a column the source YAML declares.
    Called at the top of every staging model: the error names the raw relation (locally the
    Parquet file) and the missing columns, instead of a binder error deep in a compiled query.
    Locally (DuckDB, sources with meta raw_dir) a table is every file raw_dir/<table>*.parquet,
    read with union_by_name: so each file is checked on its own first (a file without a column
    would otherwise read as nulls), and a table without any file fails naming the file it
    expects. A corrupt file fails inside the probe query with the engine's own message, which
    names the file. Linting (sqlfluff's dbt templater) sets var check_raw_columns false,
    so lint needs no raw data.
#}
{% macro require_source_columns(source_name, table_name) %}
    {%- if execute and var('check_raw_columns', true) -%}
        {%- set relation = source(source_name, table_name) -%}
        {%- set node = graph.sources.values()
            | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name)
            | first -%}
        {%- set meta = node.config.meta or node.meta or {} -%}
        {%- if target.type == 'duckdb' and meta.get('raw_dir') -%}
            {%- do require_raw_files(source_name, table_name, node, meta) -%}
        {%- endif -%}
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

{# DuckDB only: at least one file matches raw_dir/<table><raw_file_suffix>, and every matching
   file has every declared column (parquet_schema reads the footers, not the data). #}
{% macro require_raw_files(source_name, table_name, node, meta) %}
    {%- set raw_dir = meta['raw_dir'] -%}
    {%- set pattern = raw_dir ~ '/' ~ table_name ~ meta.get('raw_file_suffix', '.parquet') -%}
    {%- set pattern_literal = "'" ~ pattern | replace("'", "''") ~ "'" -%}
    {%- set files = run_query('select file from glob(' ~ pattern_literal ~ ') order by file') -%}
    {%- if files.rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No raw data for source " ~ source_name ~ "." ~ table_name ~ ": no file matches "
            ~ pattern ~ ". Put the table in " ~ raw_dir ~ "/" ~ table_name ~ ".parquet (later "
            ~ "deliveries beside it as " ~ table_name ~ "_<anything>.parquet), or point "
            ~ "CLAIMS_FRAUD_RAW_DIR at the folder that holds it."
        ) }}
    {%- endif -%}
    {%- set required = [] -%}
    {%- for column_name in node.columns.keys() -%}
        {%- do required.append("('" ~ column_name | lower ~ "', " ~ loop.index ~ ")") -%}
    {%- endfor -%}
    {%- if required | length > 0 -%}
        {%- set gaps = run_query(
            "with required (column_name, position) as (values " ~ required | join(", ") ~ "), "
            ~ "present as (select file_name, lower(name) as column_name from parquet_schema("
            ~ pattern_literal ~ ")), "
            ~ "files as (select distinct file_name from present) "
            ~ "select files.file_name, string_agg(required.column_name, ', ' order by required.position) "
            ~ "from files cross join required "
            ~ "left join present on present.file_name = files.file_name "
            ~ "and present.column_name = required.column_name "
            ~ "where present.column_name is null "
            ~ "group by files.file_name order by files.file_name"
        ) -%}
        {%- if gaps.rows | length > 0 -%}
            {%- set lines = [] -%}
            {%- for row in gaps.rows -%}
                {%- do lines.append("Raw file " ~ row[0] ~ " (source " ~ source_name ~ "." ~ table_name
                    ~ ") is missing column(s): " ~ row[1]) -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                lines | join("; ")
                ~ ". The columns it must have are declared in models/staging/claims/_claims__sources.yml."
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
