{#
    Chi-square quantile with df degrees of freedom at probability p (p >= 0.5), by the
    Wilson-Hilferty approximation: df * (1 - 2 / (9 df) + z_p * sqrt(2 / (9 df)))^3.
#}
{% macro chi_square_quantile(p, df) -%}
    (cast({{ df }} as double) * power(
        1 - 2 / (9 * cast({{ df }} as double))
        + {{ normal_quantile_upper(p) }} * sqrt(2 / (9 * cast({{ df }} as double))),
        3
    ))
{%- endmacro %}
