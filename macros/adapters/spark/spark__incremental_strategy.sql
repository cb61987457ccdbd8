{#
    A plain Apache Spark session (the local `spark` target, Parquet tables: no Delta jars
    offline) can neither merge nor delete; it appends, so a rerun over keys already present
    duplicates them and the unique tests fail loudly. The local Spark check builds from
    scratch, where no incremental strategy runs.
#}
{% macro spark__incremental_strategy() -%}
    {{ return('append') }}
{%- endmacro %}
