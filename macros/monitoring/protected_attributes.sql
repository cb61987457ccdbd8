{#
    The protected attributes: columns of fct_claim_features with meta protected_attribute:
    true, or the var protected_attributes when set (unit tests, where the graph is empty).
#}
{% macro protected_attributes() -%}
    {%- set attributes = [] -%}
    {%- if checked_var('protected_attributes', []) -%}
        {%- do attributes.extend(checked_var('protected_attributes')) -%}
    {%- elif execute -%}
        {%- for column in _feature_table_columns() if (column.meta or {}).get('protected_attribute') -%}
            {%- do attributes.append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(attributes) }}
{%- endmacro %}
