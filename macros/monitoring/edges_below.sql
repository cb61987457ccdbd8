{#
    How many of the ascending edges <edge_prefix>0 .. <edge_prefix>(n_edges - 1) lie strictly
    below value (strictly=false: at or below it): with strictly, the value's range bin, since
    bins are (lower, upper]. A binary search of nested CASEs (about log2(n) comparisons a
    row); missing top edges are null and compare as +infinity, so a feature with fewer edges
    than n_edges needs nothing special.
#}
{% macro edges_below(value, edge_prefix, n_edges, strictly=true) -%}
    {{ return(_edges_below(value, edge_prefix, 0, n_edges, '>' if strictly else '>=')) }}
{%- endmacro %}

{% macro _edges_below(value, edge_prefix, low, high, operator) -%}
    {%- if low >= high -%}
        {{ return('0') }}
    {%- endif -%}
    {%- set middle = (low + high) // 2 -%}
    {%- set above = _edges_below(value, edge_prefix, middle + 1, high, operator) -%}
    {%- set below = _edges_below(value, edge_prefix, low, middle, operator) -%}
    {{ return(
        '(case when ' ~ value ~ ' ' ~ operator ~ ' ' ~ edge_prefix ~ middle ~ ' then '
        ~ (middle + 1 - low) ~ ' + ' ~ above ~ ' else ' ~ below ~ ' end)'
    ) }}
{%- endmacro %}
