{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per batch, protected attribute and group: the group's flag rate against the
    reference group's (monitoring_reference_groups, else the largest group; ties: the
    alphabetically first). Nulls form the group 'unknown'. For a group (n1, x1 flagged)
    against the reference (n2, x2):

    - disparate_impact = (x1 n2) / (n1 x2), not_flagged_ratio = ((n1 - x1) n2) / (n1 (n2 - x2))
      (null when the denominator is 0)
    - pooled two-proportion z-test, p = (x1 + x2) / (n1 + n2), two-sided p-value, Bonferroni
      over the attribute's non-reference groups, significant when p_adjusted < alpha
    - 95% CI of the ratio by Katz's log method (null when x1 or x2 is 0)
    - the band test: is the DI significantly outside the band, not merely different from 1?
      One-sided z of ln DI beyond the crossed bound, with Katz's standard error
      sqrt((1 - p1) / x1 + (1 - p2) / x2) (a count of 0 taken as 0.5), Bonferroni as above:
      p_outside_band, p_outside_band_adjusted, is_significantly_outside_band
    - status: insufficient_data (an expected cell under min_expected_cell_count, or an empty
      batch), fail (outside the band and significantly outside it), warn_not_significant
      (outside, not significantly: a small sample is not evidence), warn_significant_within_band
      (inside the band, significantly different from 1), pass.
    The reference group's own row has DI 1 and is insufficient_data when x2 or n2 - x2 is
    under the minimum. The Python twin is claims_fraud.ml.fairness.disparate_impact.
#}
{%- set attributes = protected_attributes() %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

thresholds as (

    select
        {{ threshold_columns([
            'disparate_impact_lower', 'disparate_impact_upper', 'disparate_impact_alpha',
            'min_expected_cell_count']) }}
    from {{ ref('monitoring_thresholds') }}

),

scored as (

    select
        {%- for attribute in attributes %}
            claims.{{ attribute }},
        {%- endfor %}
        scores.batch_id,
        scores.is_flagged
    from {{ ref('fraud_scores') }} as scores
    inner join batches
        on scores.batch_id = batches.batch_id
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id

),

group_counts as (

    {%- for attribute in attributes %}
        select
            batch_id,
            {{ sql_literal(attribute) }} as attribute_name,
            coalesce(cast({{ attribute }} as {{ dbt.type_string() }}), 'unknown') as group_name,
            count(*) as n,
            sum(case when is_flagged then 1 else 0 end) as flagged
        from scored
        group by batch_id, coalesce(cast({{ attribute }} as {{ dbt.type_string() }}), 'unknown')
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by batch_id, attribute_name
            order by n desc, group_name asc
        ) as size_rank,
        count(*) over (partition by batch_id, attribute_name) as n_groups
    from group_counts

),

reference_choice as (

    select
        ranked.batch_id,
        ranked.attribute_name,
        coalesce(configured.reference_group, ranked.group_name) as reference_group,
        case when configured.reference_group is null then 'largest' else 'seed' end
            as reference_group_source
    from ranked
    left join {{ ref('monitoring_reference_groups') }} as configured
        on ranked.attribute_name = configured.attribute_name
    where ranked.size_rank = 1

),

paired as (

    select
        ranked.batch_id,
        ranked.attribute_name,
        ranked.group_name,
        cast(ranked.n as bigint) as n1,
        cast(ranked.flagged as bigint) as x1,
        reference_choice.reference_group,
        reference_choice.reference_group_source,
        cast(coalesce(reference_counts.n, 0) as bigint) as n2,
        cast(coalesce(reference_counts.flagged, 0) as bigint) as x2,
        -- Bonferroni: the attribute's groups other than the reference
        ranked.n_groups - case when reference_counts.n is null then 0 else 1 end
            as n_comparisons,
        (ranked.group_name = reference_choice.reference_group) as is_reference_group
    from ranked
    inner join reference_choice
        on
            ranked.batch_id = reference_choice.batch_id
            and ranked.attribute_name = reference_choice.attribute_name
    left join group_counts as reference_counts
        on
            ranked.batch_id = reference_counts.batch_id
            and ranked.attribute_name = reference_counts.attribute_name
            and reference_choice.reference_group = reference_counts.group_name

),

rates as (

    select
        *,
        cast(x1 as double) / n1 as p1,
        case when n2 > 0 then cast(x2 as double) / n2 end as p2,
        cast(x1 + x2 as double) / (n1 + n2) as pooled,
        -- the counts the band test uses: a zero count taken as 0.5
        greatest(cast(x1 as double), 0.5) as x1_or_half,
        greatest(cast(x2 as double), 0.5) as x2_or_half
    from paired

),

tested as (

    select
        *,
        case
            when n2 > 0
                then sqrt(pooled * (1 - pooled) * (1 / cast(n1 as double) + 1 / cast(n2 as double)))
        end as se
    from rates

),

statistics as (

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
                then exp(ln(p1 / p2) - 1.96 * sqrt((1 - p1) / x1 + (1 - p2) / x2))
        end as ci_low,
        case
            when not is_reference_group and x1 > 0 and x2 > 0
                then exp(ln(p1 / p2) + 1.96 * sqrt((1 - p1) / x1 + (1 - p2) / x2))
        end as ci_high,
        case
            when is_reference_group then least(n2 * p2, n2 * (1 - p2))
            else least(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
        end as min_expected_cell,
        -- ln DI and Katz's standard error for the band test
        case
            when not is_reference_group and n2 > 0
                then ln((x1_or_half * n2) / (n1 * x2_or_half))
        end as log_ratio,
        case
            when not is_reference_group and n2 > 0
                then sqrt((1 - p1) / x1_or_half + (1 - p2) / x2_or_half)
        end as se_log_ratio
    from tested

),

adjusted as (

    select
        *,
        case when z is not null then 2 * {{ normal_upper_tail('abs(z)') }} end as p_value
    from statistics

),

judged as (

    select
        adjusted.*,
        thresholds.min_expected_cell_count,
        thresholds.disparate_impact_lower,
        thresholds.disparate_impact_upper,
        thresholds.disparate_impact_alpha,
        case
            when adjusted.p_value is not null
                then least(1.0, adjusted.p_value * adjusted.n_comparisons)
        end as p_adjusted,
        coalesce(
            case
                when adjusted.p_value is not null
                    then least(1.0, adjusted.p_value * adjusted.n_comparisons)
            end
            < thresholds.disparate_impact_alpha,
            false
        ) as is_significant,
        (
            adjusted.disparate_impact is null
            or adjusted.disparate_impact < thresholds.disparate_impact_lower
            or adjusted.disparate_impact > thresholds.disparate_impact_upper
        ) as is_outside_band
    from adjusted
    cross join thresholds

),

band_tested as (

    select
        *,
        -- how many standard errors ln DI lies beyond the bound it crossed (negative: inside)
        case
            when not is_outside_band or se_log_ratio is null or se_log_ratio = 0 then null
            when disparate_impact < disparate_impact_lower
                then (ln(disparate_impact_lower) - log_ratio) / se_log_ratio
            else (log_ratio - ln(disparate_impact_upper)) / se_log_ratio
        end as z_outside_band
    from judged

),

band_judged as (

    select
        *,
        case
            when z_outside_band >= 0 then {{ normal_upper_tail('z_outside_band') }}
            when z_outside_band < 0 then 1 - {{ normal_upper_tail('-z_outside_band') }}
        end as p_outside_band
    from band_tested

),

band_adjusted as (

    select
        *,
        case
            when p_outside_band is not null then least(1.0, p_outside_band * n_comparisons)
        end as p_outside_band_adjusted,
        coalesce(
            least(1.0, p_outside_band * n_comparisons) < disparate_impact_alpha, false
        ) as is_significantly_outside_band
    from band_judged

),

group_rows as (

    select
        batch_id,
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
        case
            when not (min_expected_cell >= min_expected_cell_count) or min_expected_cell is null
                then 'insufficient_data'
            when is_outside_band and is_significantly_outside_band then 'fail'
            when is_outside_band then 'warn_not_significant'
            when is_significant then 'warn_significant_within_band'
            else 'pass'
        end as status
    from band_adjusted

),

attributes as (

    {%- for attribute in attributes %}
        select {{ sql_literal(attribute) }} as attribute_name
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

-- an empty batch still gets one row per attribute, insufficient_data, never a silent pass
select
    batches.batch_id,
    batches.model_version,
    batches.scored_at,
    attributes.attribute_name,
    group_rows.group_name,
    group_rows.flag_rate,
    group_rows.reference_group,
    group_rows.reference_group_source,
    group_rows.reference_n,
    group_rows.reference_flagged,
    group_rows.reference_flag_rate,
    group_rows.disparate_impact,
    group_rows.not_flagged_ratio,
    group_rows.z,
    group_rows.p_value,
    group_rows.p_adjusted,
    group_rows.ci_low,
    group_rows.ci_high,
    group_rows.min_expected_cell,
    group_rows.p_outside_band,
    group_rows.p_outside_band_adjusted,
    coalesce(group_rows.n, 0) as n,
    coalesce(group_rows.flagged, 0) as flagged,
    coalesce(group_rows.is_significant, false) as is_significant,
    coalesce(group_rows.is_significantly_outside_band, false) as is_significantly_outside_band,
    coalesce(group_rows.status, 'insufficient_data') as status
from batches
cross join attributes
left join group_rows
    on
        batches.batch_id = group_rows.batch_id
        and attributes.attribute_name = group_rows.attribute_name
