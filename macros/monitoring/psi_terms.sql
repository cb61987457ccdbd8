{#
    The PSI's two terms, one definition for every PSI the project computes (per feature and
    bin in mon_feature_psi_bins, champion vs challenger scores in ml_shadow_comparison):
    a bin's share with 0.5 added to every count (so an empty bin stays finite), and a bin's
    contribution (q - p) * ln(q / p).
#}
{% macro psi_share(count, n, n_bins) -%}
    (cast({{ count }} as double) + 0.5) / (cast({{ n }} as double) + 0.5 * {{ n_bins }})
{%- endmacro %}

{% macro psi_contribution(current_share, reference_share) -%}
    ({{ current_share }} - {{ reference_share }}) * ln({{ current_share }} / {{ reference_share }})
{%- endmacro %}
