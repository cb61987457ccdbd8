{# A boolean or categorical value as the level text the reference profile stores. #}
{% macro level_text(column, feature_type) -%}
    {%- if feature_type == 'boolean' -%}
        case when {{ column }} then 'true' when not {{ column }} then 'false' end
    {%- else -%}
        cast({{ column }} as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
