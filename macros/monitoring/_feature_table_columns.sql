{# The columns of fct_claim_features as the graph holds them, with their meta (private: for
   monitored_features and protected_attributes). #}
{% macro _feature_table_columns() -%}
    {%- set nodes = graph.get('nodes', {}) if graph is mapping else graph.nodes -%}
    {%- set matches = nodes.values() | selectattr('name', 'equalto', 'fct_claim_features') | list -%}
    {%- if not matches -%}
        {{ exceptions.raise_compiler_error("Monitoring needs the columns of fct_claim_features from the graph; in a unit test set the vars monitored_features (name: type) and protected_attributes") }}
    {%- endif -%}
    {{ return(matches[0].columns.values() | list) }}
{%- endmacro %}
