{#
    Linear-interpolation percentiles (numpy's default 'linear' method) of an expression over the
    group, per engine, as one list in the order of `fractions`: one sort of the group, however
    many percentiles (read them with list_element, 1-based on every engine).
#}
{% macro percentiles_cont(expression, fractions) -%}
    {{ return(adapter.dispatch('percentiles_cont', 'claims_fraud')(expression, fractions)) }}
{%- endmacro %}

{% macro default__percentiles_cont(expression, fractions) -%}
    quantile_cont({{ expression }}, [{{ fractions | map('float') | join(', ') }}])
{%- endmacro %}
