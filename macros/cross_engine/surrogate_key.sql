{#
    A stable hash key over a list of column expressions; nulls are kept distinct from empty
    strings. Portable: md5, concat_ws and coalesce exist on DuckDB, Spark and Databricks.
#}
{% macro surrogate_key(field_list) %}
    {{ dbt.hash(surrogate_key_input(field_list)) }}
{% endmacro %}

{% macro surrogate_key_input(field_list) -%}
    concat_ws('|'
    {%- for field in field_list %},
        coalesce(cast({{ field }} as {{ dbt.type_string() }}), '_dbt_null_')
    {%- endfor %}
    )
{%- endmacro %}
