{#
    The monitored features: every column of fct_claim_features whose meta says
    model_input: true, as {name, type} with type numeric, boolean or categorical, in the
    order of the YAML. The var monitored_features narrows the list: a list of column names,
    or a mapping name -> type (used as given, e.g. by unit tests, where the graph is empty).
#}
{% macro monitored_features() -%}
    {%- set features = [] -%}
    {%- set wanted = checked_var('monitored_features', []) -%}
    {%- if wanted is mapping -%}
        {%- for name, type in wanted.items() -%}
            {%- do features.append({'name': name, 'type': type}) -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- for column in _feature_table_columns() -%}
            {%- set meta = column.meta or {} -%}
            {%- if meta.get('model_input') and (not wanted or column.name in wanted) -%}
                {%- do features.append({'name': column.name, 'type': meta.get('feature_type')}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for name in wanted if name not in features | map(attribute='name') | list -%}
            {{ exceptions.raise_compiler_error("var monitored_features names " ~ name ~ ", which is not a model input of fct_claim_features") }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(features) }}
{%- endmacro %}
