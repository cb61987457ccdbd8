{#
    Unreadable raw values. Staging casts with try_cast, so a value that is there but cannot be
    read as its column's type (a text date 'not-a-date', an amount '12,50', units 'many')
    becomes null instead of failing the build. This macro and lists_column keep what try_cast forgets: which
    columns of the line were unreadable, so validation gives them their own reason
    (unreadable_value) rather than the reason of a missing or non-positive value, and the SIU
    data team sees which raw column to fix. Blank text counts as missing, not unreadable.
    Portable SQL (try_cast, trim, concat_ws, instr): the same on DuckDB, Spark and Databricks.
#}

{# The raw columns (of `columns`, pairs [column_name, data_type] as staging casts them) whose
   value is present but does not cast: comma-separated raw column names, null when none. #}
{% macro unreadable_columns(columns) -%}
    nullif(concat_ws(
        ','
        {%- for column_name, data_type in columns %},
        case
            when
                {{ column_name }} is not null
                and try_cast({{ column_name }} as {{ data_type }}) is null
                and trim(cast({{ column_name }} as {{ dbt.type_string() }})) <> ''
                then '{{ column_name }}'
        end
        {%- endfor %}
    ), '')
{%- endmacro %}
