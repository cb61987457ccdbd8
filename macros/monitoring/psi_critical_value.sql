{#
    PSI critical value: (1/N + 1/M) * chi2_q(K - 1), the PSI that K bins reach by chance
    alone with probability 1 - q when nothing drifted.
#}
{% macro psi_critical_value(reference_n, current_n, n_bins, quantile) -%}
    ((1 / cast({{ reference_n }} as double) + 1 / cast({{ current_n }} as double))
    * {{ chi_square_quantile(quantile, n_bins ~ ' - 1') }})
{%- endmacro %}
