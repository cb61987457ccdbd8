{#
    Disparate impact of the flags, one row per key, protected attribute and group: the one
    implementation behind mon_disparate_impact (key batch_id) and the promotion gate's
    ml_challenger_disparate_impact (key model_version). A select statement over `scored`
    (a relation or CTE with the key column, the attribute columns and is_flagged); use it as
    the body of a CTE. Groups are the attribute's values as text, nulls the group 'unknown'.
    `cluster` names the column claims cluster by (the rendering provider: a provider's claims
    are flagged or not together, so they are not independent evidence); a null cluster is one
    cluster of its own.

    Reference group: the attribute's row of `reference_groups` (the seed
    monitoring_reference_groups), else the key's largest group (ties: the alphabetically
    first). A seeded group with no claims under the key leaves n2 = 0: every group of the
    attribute is then insufficient_data. For a group (n1 claims, x1 flagged) against the
    reference (n2, x2):

    - disparate_impact = (x1 n2) / (n1 x2), not_flagged_ratio = ((n1 - x1) n2) / (n1 (n2 - x2)):
      one rounding, so a ratio on a band bound is that bound; null when the denominator is 0
    - cluster-robust (sandwich) variances over the C clusters c that hold claims of the group
      or the reference, with n1c, x1c (n2c, x2c) the group's (reference's) claims and flags in
      cluster c, and x' = max(x, 0.5), p' = x' / n:
        V_diff = C / (C - 1) * sum_c ((x1c - p1 n1c) / n1 - (x2c - p2 n2c) / n2)^2
        V_log  = C / (C - 1) * sum_c ((x1c - p1' n1c) / x1' - (x2c - p2' n2c) / x2')^2
      (the linearised variance of p1 - p2 and of ln(p1 / p2); a cluster holding both groups
      counts once, so their covariance is in); null when C < 2. design_effect = V_log over
      Katz's variance below.
    - two-proportion z-test, z = (p1 - p2) / se with se^2 the larger of the pooled variance
      p (1 - p) (1 / n1 + 1 / n2), p = (x1 + x2) / (n1 + n2), and V_diff (a design effect below
      1 is not credited); two-sided p-value, Bonferroni over the key's comparisons (every
      non-reference group of every attribute: one family per batch, so a batch's false alarm
      rate is alpha, not alpha per attribute), is_significant when p_adjusted < alpha
    - 95% CI of the ratio: exp(ln DI -/+ 1.96 se_log) (null when x1 or x2 is 0), se_log^2 the
      larger of Katz's (1 - p1) / x1' + (1 - p2) / x2' and V_log
    - the band test: is the DI significantly outside the band, not merely different from 1?
      One-sided z of ln(x1' n2 / (n1 x2')) beyond the crossed bound over se_log, Bonferroni as
      above: p_outside_band, p_outside_band_adjusted, is_significantly_outside_band
    - status, first match wins: insufficient_data (an expected cell under
      min_expected_cell_count), fail (outside the band [lower, upper], bounds inside, and
      significantly outside it), warn_not_significant (outside, not significantly: a small
      sample is not evidence), warn_significant_within_band (inside the band, significantly
      different from 1), pass.
    The reference group's own row has DI 1 and is insufficient_data when x2 or n2 - x2 is
    under the minimum. Thresholds (band, alpha, minimum expected cell) come from the
    `thresholds` relation (the seed monitoring_thresholds). The test oracle is
    python_jobs/tests/monitoring_oracle.py (disparate_impact, with clusters).
#}
{% macro disparate_impact_by_group(scored, key, attributes, thresholds, reference_groups, cluster) -%}
    with

    di_thresholds as (

        select
            {{ threshold_columns([
                'disparate_impact_lower', 'disparate_impact_upper', 'disparate_impact_alpha',
                'min_expected_cell_count']) }}
        from {{ thresholds }}

    ),

    -- One pass over `scored`: claims and flags per cluster and combination of the attributes'
    -- groups, then each attribute's groups (per cluster, then in all) summed from the cells.
    -- One hash table, no grouping sets (which DuckDB runs as one pass per set over a
    -- materialised copy).
    di_cells as (

        select
            {{ key }},
            coalesce(cast({{ cluster }} as {{ dbt.type_string() }}), '') as di_cluster,
            {%- for attribute in attributes %}
                coalesce(cast({{ attribute }} as {{ dbt.type_string() }}), 'unknown') as di_group_{{ loop.index }},
            {%- endfor %}
            count(*) as n,
            sum(case when is_flagged then 1 else 0 end) as flagged
        from {{ scored }}
        group by
            {{ key }},
            coalesce(cast({{ cluster }} as {{ dbt.type_string() }}), '')
            {%- for attribute in attributes %},
                coalesce(cast({{ attribute }} as {{ dbt.type_string() }}), 'unknown')
            {%- endfor %}

    ),

    di_cluster_counts as (

        {%- for attribute in attributes %}
            select
                {{ key }},
                {{ sql_literal(attribute) }} as attribute_name,
                di_group_{{ loop.index }} as group_name,
                di_cluster,
                sum(n) as n,
                sum(flagged) as flagged
            from di_cells
            group by {{ key }}, di_group_{{ loop.index }}, di_cluster
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- endfor %}

    ),

    di_group_counts as (

        select
            {{ key }},
            attribute_name,
            group_name,
            sum(n) as n,
            sum(flagged) as flagged
        from di_cluster_counts
        group by {{ key }}, attribute_name, group_name

    ),

    di_ranked as (

        select
            *,
            row_number() over (
                partition by {{ key }}, attribute_name
                order by n desc, group_name asc
            ) as size_rank
        from di_group_counts

    ),

    di_reference_choice as (

        select
            di_ranked.{{ key }},
            di_ranked.attribute_name,
            coalesce(configured.reference_group, di_ranked.group_name) as reference_group,
            case when configured.reference_group is null then 'largest' else 'seed' end
                as reference_group_source
        from di_ranked
        left join {{ reference_groups }} as configured
            on di_ranked.attribute_name = configured.attribute_name
        where di_ranked.size_rank = 1

    ),

    di_paired as (

        select
            di_ranked.{{ key }},
            di_ranked.attribute_name,
            di_ranked.group_name,
            cast(di_ranked.n as bigint) as n1,
            cast(di_ranked.flagged as bigint) as x1,
            di_reference_choice.reference_group,
            di_reference_choice.reference_group_source,
            cast(coalesce(reference_counts.n, 0) as bigint) as n2,
            cast(coalesce(reference_counts.flagged, 0) as bigint) as x2,
            (di_ranked.group_name = di_reference_choice.reference_group) as is_reference_group
        from di_ranked
        inner join di_reference_choice
            on
                di_ranked.{{ key }} = di_reference_choice.{{ key }}
                and di_ranked.attribute_name = di_reference_choice.attribute_name
        left join di_group_counts as reference_counts
            on
                di_ranked.{{ key }} = reference_counts.{{ key }}
                and di_ranked.attribute_name = reference_counts.attribute_name
                and di_reference_choice.reference_group = reference_counts.group_name

    ),

    di_rates as (

        select
            *,
            cast(x1 as double) / n1 as p1,
            case when n2 > 0 then cast(x2 as double) / n2 end as p2,
            cast(x1 + x2 as double) / (n1 + n2) as pooled,
            -- the counts the band test uses: a zero count taken as 0.5
            greatest(cast(x1 as double), 0.5) as x1_or_half,
            greatest(cast(x2 as double), 0.5) as x2_or_half,
            -- Bonferroni over the key's comparisons: every group of every attribute other
            -- than its reference (a reference group without claims compares with nothing)
            sum(case when is_reference_group and n2 > 0 then 0 else 1 end) over (partition by {{ key }})
                as n_comparisons
        from di_paired

    ),

    -- each cluster's claims and flags of the group and of its reference group, side by side
    di_cluster_pairs as (

        select
            di_rates.{{ key }},
            di_rates.attribute_name,
            di_rates.group_name,
            clusters.di_cluster,
            sum(case when clusters.group_name = di_rates.group_name then clusters.n else 0 end) as n1c,
            sum(case when clusters.group_name = di_rates.group_name then clusters.flagged else 0 end) as x1c,
            sum(case when clusters.group_name = di_rates.reference_group then clusters.n else 0 end) as n2c,
            sum(case when clusters.group_name = di_rates.reference_group then clusters.flagged else 0 end) as x2c
        from di_rates
        inner join di_cluster_counts as clusters
            on
                di_rates.{{ key }} = clusters.{{ key }}
                and di_rates.attribute_name = clusters.attribute_name
                and (
                    clusters.group_name = di_rates.group_name
                    or clusters.group_name = di_rates.reference_group
                )
        where not di_rates.is_reference_group and di_rates.n2 > 0
        group by
            di_rates.{{ key }}, di_rates.attribute_name, di_rates.group_name, clusters.di_cluster

    ),

    di_cluster_variance as (

        select
            pairs.{{ key }},
            pairs.attribute_name,
            pairs.group_name,
            count(*) as n_clusters,
            case
                when count(*) > 1
                    then count(*) / (count(*) - 1.0) * sum(power(
                        (pairs.x1c - rates.p1 * pairs.n1c) / rates.n1
                        - (pairs.x2c - rates.p2 * pairs.n2c) / rates.n2, 2))
            end as v_diff_cluster,
            case
                when count(*) > 1
                    then count(*) / (count(*) - 1.0) * sum(power(
                        (pairs.x1c - rates.x1_or_half / rates.n1 * pairs.n1c) / rates.x1_or_half
                        - (pairs.x2c - rates.x2_or_half / rates.n2 * pairs.n2c) / rates.x2_or_half, 2))
            end as v_log_cluster
        from di_cluster_pairs as pairs
        inner join di_rates as rates
            on
                pairs.{{ key }} = rates.{{ key }}
                and pairs.attribute_name = rates.attribute_name
                and pairs.group_name = rates.group_name
        group by pairs.{{ key }}, pairs.attribute_name, pairs.group_name

    ),

    di_tested as (

        select
            di_rates.*,
            variance.n_clusters,
            case
                when di_rates.n2 > 0
                    then sqrt(greatest(
                        di_rates.pooled * (1 - di_rates.pooled)
                        * (1 / cast(di_rates.n1 as double) + 1 / cast(di_rates.n2 as double)),
                        coalesce(variance.v_diff_cluster, 0)
                    ))
            end as se,
            -- Katz's variance of ln DI (zero counts as 0.5) and the cluster-robust one
            case
                when not di_rates.is_reference_group and di_rates.n2 > 0
                    then (1 - di_rates.p1) / di_rates.x1_or_half
                    + (1 - di_rates.p2) / di_rates.x2_or_half
            end as v_log_katz,
            variance.v_log_cluster
        from di_rates
        left join di_cluster_variance as variance
            on
                di_rates.{{ key }} = variance.{{ key }}
                and di_rates.attribute_name = variance.attribute_name
                and di_rates.group_name = variance.group_name

    ),

    di_statistics as (

        select
            *,
            case
                when not is_reference_group and n2 > 0 and se > 0 then (p1 - p2) / se
            end as z,
            case
                when is_reference_group then 1.0
                when n1 * x2 > 0 then cast(x1 * n2 as double) / (n1 * x2)
            end as disparate_impact,
            case
                when is_reference_group then 1.0
                when n1 * (n2 - x2) > 0 then cast((n1 - x1) * n2 as double) / (n1 * (n2 - x2))
            end as not_flagged_ratio,
            case
                when not is_reference_group and x1 > 0 and x2 > 0
                    then exp(ln(p1 / p2) - 1.96 * sqrt(greatest(v_log_katz, coalesce(v_log_cluster, 0))))
            end as ci_low,
            case
                when not is_reference_group and x1 > 0 and x2 > 0
                    then exp(ln(p1 / p2) + 1.96 * sqrt(greatest(v_log_katz, coalesce(v_log_cluster, 0))))
            end as ci_high,
            case
                when v_log_katz > 0 then coalesce(v_log_cluster, 0) / v_log_katz
            end as design_effect,
            case
                when is_reference_group then least(n2 * p2, n2 * (1 - p2))
                else least(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
            end as min_expected_cell,
            -- ln DI and its standard error (cluster-robust, at least Katz's) for the band test
            case
                when not is_reference_group and n2 > 0
                    then ln((x1_or_half * n2) / (n1 * x2_or_half))
            end as log_ratio,
            sqrt(greatest(v_log_katz, coalesce(v_log_cluster, 0))) as se_log_ratio
        from di_tested

    ),

    di_adjusted as (

        select
            *,
            case when z is not null then 2 * {{ normal_upper_tail('abs(z)') }} end as p_value
        from di_statistics

    ),

    di_judged as (

        select
            di_adjusted.*,
            di_thresholds.min_expected_cell_count,
            di_thresholds.disparate_impact_lower,
            di_thresholds.disparate_impact_upper,
            di_thresholds.disparate_impact_alpha,
            case
                when di_adjusted.p_value is not null
                    then least(1.0, di_adjusted.p_value * di_adjusted.n_comparisons)
            end as p_adjusted,
            coalesce(
                case
                    when di_adjusted.p_value is not null
                        then least(1.0, di_adjusted.p_value * di_adjusted.n_comparisons)
                end
                < di_thresholds.disparate_impact_alpha,
                false
            ) as is_significant,
            (
                di_adjusted.disparate_impact is null
                or di_adjusted.disparate_impact < di_thresholds.disparate_impact_lower
                or di_adjusted.disparate_impact > di_thresholds.disparate_impact_upper
            ) as is_outside_band
        from di_adjusted
        cross join di_thresholds

    ),

    di_band_tested as (

        select
            *,
            -- how many standard errors ln DI lies beyond the bound it crossed (negative: inside)
            case
                when not is_outside_band or se_log_ratio is null or se_log_ratio = 0 then null
                when disparate_impact < disparate_impact_lower
                    then (ln(disparate_impact_lower) - log_ratio) / se_log_ratio
                else (log_ratio - ln(disparate_impact_upper)) / se_log_ratio
            end as z_outside_band
        from di_judged

    ),

    di_band_judged as (

        select
            *,
            case
                when z_outside_band >= 0 then {{ normal_upper_tail('z_outside_band') }}
                when z_outside_band < 0 then 1 - {{ normal_upper_tail('-z_outside_band') }}
            end as p_outside_band
        from di_band_tested

    ),

    di_band_adjusted as (

        select
            *,
            case
                when p_outside_band is not null then least(1.0, p_outside_band * n_comparisons)
            end as p_outside_band_adjusted,
            coalesce(
                least(1.0, p_outside_band * n_comparisons) < disparate_impact_alpha, false
            ) as is_significantly_outside_band
        from di_band_judged

    )

    select
        {{ key }},
        attribute_name,
        group_name,
        n1 as n,
        x1 as flagged,
        p1 as flag_rate,
        reference_group,
        reference_group_source,
        n2 as reference_n,
        x2 as reference_flagged,
        p2 as reference_flag_rate,
        disparate_impact,
        not_flagged_ratio,
        z,
        p_value,
        p_adjusted,
        ci_low,
        ci_high,
        min_expected_cell,
        is_significant,
        p_outside_band,
        p_outside_band_adjusted,
        is_significantly_outside_band,
        n_clusters,
        design_effect,
        case
            when not (min_expected_cell >= min_expected_cell_count) or min_expected_cell is null
                then 'insufficient_data'
            when is_outside_band and is_significantly_outside_band then 'fail'
            when is_outside_band then 'warn_not_significant'
            when is_significant then 'warn_significant_within_band'
            else 'pass'
        end as status
    from di_band_adjusted
{%- endmacro %}
