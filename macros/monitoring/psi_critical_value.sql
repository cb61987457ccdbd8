{#
    PSI critical value: (D_ref/N + D/M) * chi2_q(K - 1), the PSI that K bins reach by chance
    alone with probability 1 - q when nothing drifted. D is the batch's design effect and D_ref
    the reference's (psi_design_effect; 1 for independent claims): claims of one provider share
    its provider-level inputs, so a batch of M claims is worth M / D independent ones, and the
    training window's N claims N / D_ref (Rao and Scott's first-order correction of a
    chi-square test on clustered data, both samples clustered).
#}
{% macro psi_critical_value(
    reference_n, current_n, n_bins, quantile, design_effect='1', reference_design_effect='1'
) -%}
    (({{ reference_design_effect }} / cast({{ reference_n }} as double)
    + {{ design_effect }} / cast({{ current_n }} as double))
    * {{ chi_square_quantile(quantile, n_bins ~ ' - 1') }})
{%- endmacro %}

{#
    The cluster-robust (sandwich) variance of one bin's count over a sample of n claims in
    clusters (providers): C / (C - 1) * sum_c (m_ck - q_k m_c)^2, q_k = m_k / n, expanded so
    that it needs only sums over the clusters: sum_c m_ck^2 (sum_squares), sum_c m_ck m_c
    (sum_cross) and sum_c m_c^2 (sum_cluster_n_squared). Null with fewer than 2 clusters. Both
    sides of the PSI use it: the batch's counts (mon_feature_psi_bins) and the training
    window's (ml_reference_profile).
#}
{#
    Per sample (group_key: the batch, or the model version's training window), feature and bin,
    the sums clustered_count_variance needs: the count (n_values), sum_c m_ck^2 (sum_squares)
    and sum_c m_ck m_c (sum_cross). cluster_counts: feature_bin_counts keyed by cluster_key;
    clusters: cluster_key, group_key and cluster_n (the cluster's claims). A select statement.
#}
{% macro cluster_count_sums(cluster_counts, clusters, group_key) -%}
    select
        {{ clusters }}.{{ group_key }},
        {{ cluster_counts }}.feature_name,
        {{ cluster_counts }}.bin_index,
        cast(sum({{ cluster_counts }}.n_values) as bigint) as n_values,
        sum(cast({{ cluster_counts }}.n_values as double) * {{ cluster_counts }}.n_values) as sum_squares,
        sum(cast({{ cluster_counts }}.n_values as double) * {{ clusters }}.cluster_n) as sum_cross
    from {{ cluster_counts }}
    inner join {{ clusters }}
        on {{ cluster_counts }}.cluster_key = {{ clusters }}.cluster_key
    group by {{ clusters }}.{{ group_key }}, {{ cluster_counts }}.feature_name, {{ cluster_counts }}.bin_index
{%- endmacro %}

{% macro clustered_count_variance(
    n_clusters, n, bin_count, sum_squares, sum_cross, sum_cluster_n_squared
) -%}
    case
        when {{ n_clusters }} > 1
            then {{ n_clusters }} / ({{ n_clusters }} - 1.0) * (
                {{ sum_squares }}
                - 2 * {{ bin_count }} / cast({{ n }} as double) * {{ sum_cross }}
                + power({{ bin_count }} / cast({{ n }} as double), 2) * {{ sum_cluster_n_squared }}
            )
    end
{%- endmacro %}

{#
    A sample's design effect for one PSI, an aggregate over its bins (mon_feature_psi_bins):
    D = max(1, sum over bins holding claims of V_k / m_k, over K - 1), V_k the cluster-robust
    variance of bin k's count (current_count_variance for the batch, reference_count_variance
    for the training window: clustered_count_variance), m_k its count. With independent claims
    V_k = m_k (1 - q_k) and the sum is K - 1; a design effect below 1 is not credited. 1 when
    the variances are unknown (fewer than 2 providers, or a reference logged without them).
#}
{% macro psi_design_effect(count_variance, current_count, n_bins) -%}
    greatest(1.0, coalesce(
        sum(case when {{ current_count }} > 0 then {{ count_variance }} / {{ current_count }} end)
        / nullif(max({{ n_bins }}) - 1, 0),
        1.0
    ))
{%- endmacro %}

{#
    The quantile of one PSI test when a batch's PSIs are a family of n_tests tests (every
    model input and the score: the number of features mon_feature_psi_bins profiles for the
    batch), Bonferroni: 1 - (1 - q) / n_tests. With 22 inputs and the score tested at q =
    0.99 each, one batch in five would raise a false alarm somewhere; so corrected, one in a
    hundred.
#}
{% macro psi_family_quantile(quantile, n_tests) -%}
    (1 - (1 - {{ quantile }}) / cast({{ n_tests }} as double))
{%- endmacro %}
