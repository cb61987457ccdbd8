{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per batch and monitored feature (every model input, and fraud_probability for
    the score): the PSI against the reference profile of the model version that scored the
    batch, its critical value, the verdict and the bin that contributed most.

    PSI = sum over bins of (q - p) * ln(q / p) (mon_feature_psi_bins). Critical value
    c = (D_ref/N + D/M) * chi2_q'(K - 1) (Wilson-Hilferty), D and D_ref the batch's and the
    training window's design effects for the input (psi_design_effect: claims clustered by
    provider; a provider-level input holds few independent values on either side), q' = 1 - (1 - q) / T
    (psi_family_quantile: Bonferroni over the T PSIs of the batch, every profiled input and
    the score), q = psi_significance_quantile.
    Status:
    error if PSI >= psi_error and >= c; warn if PSI >= psi_warn and >= c;
    insufficient_evidence if PSI >= psi_warn but < c; ok otherwise; no_data for a batch
    without claims; missing_reference when the model version has no reference profile.
#}
{%- set features = monitored_features() %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

monitored as (

    {%- for feature in features %}
        select
            {{ sql_literal(feature.name) }} as feature_name,
            '{{ "numeric" if feature.type == "numeric" else "categorical" }}' as feature_type
        union all
    {%- endfor %}
    select
        'fraud_probability' as feature_name,
        'score' as feature_type

),

thresholds as (

    select
        {{ threshold_columns(['psi_warn', 'psi_error', 'psi_significance_quantile']) }}
    from {{ ref('monitoring_thresholds') }}

),

bins as (

    select
        batch_id,
        feature_name,
        bin_index,
        bin_kind,
        lower_bound,
        upper_bound,
        level,
        reference_count,
        current_count,
        current_count_variance,
        reference_count_variance,
        reference_n,
        n_bins,
        reference_share,
        current_share,
        psi_contribution,
        row_number() over (
            partition by batch_id, feature_name
            order by psi_contribution desc, bin_index asc
        ) as contribution_rank
    from {{ ref('mon_feature_psi_bins') }}
    where batch_id in (select batches.batch_id from batches)

),

per_feature as (

    select
        batch_id,
        feature_name,
        max(n_bins) as n_bins,
        max(reference_n) as reference_n,
        max(case when bin_kind = 'null' then current_count end) as current_null_count,
        sum(psi_contribution) as psi,
        {{ psi_design_effect('current_count_variance', 'current_count', 'n_bins') }} as design_effect,
        {{ psi_design_effect('reference_count_variance', 'reference_count', 'n_bins') }}
            as reference_design_effect
    from bins
    group by batch_id, feature_name

),

-- the batch's PSIs are one family of tests (psi_family_quantile)
families as (

    select
        batch_id,
        count(*) as n_psi_tests
    from per_feature
    group by batch_id

),

top_bins as (

    select *
    from bins
    where contribution_rank = 1

),

measured as (

    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        monitored.feature_name,
        monitored.feature_type,
        per_feature.n_bins,
        per_feature.reference_n,
        batches.n_claims as current_n,
        case
            when batches.n_claims > 0
                then cast(per_feature.current_null_count as double) / batches.n_claims
        end as current_null_share,
        case when batches.n_claims > 0 then per_feature.psi end as psi,
        case
            when batches.n_claims > 0 and per_feature.n_bins is not null
                then {{ psi_critical_value(
                    'per_feature.reference_n', 'batches.n_claims', 'per_feature.n_bins',
                    psi_family_quantile('thresholds.psi_significance_quantile', 'families.n_psi_tests'),
                    'per_feature.design_effect', 'per_feature.reference_design_effect') }}
        end as critical_value,
        case when batches.n_claims > 0 then per_feature.design_effect end as design_effect,
        case
            when batches.n_claims > 0 then per_feature.reference_design_effect
        end as reference_design_effect,
        thresholds.psi_warn,
        thresholds.psi_error,
        top_bins.bin_index as top_bin_index,
        top_bins.bin_kind as top_bin_kind,
        top_bins.lower_bound as top_bin_lower_bound,
        top_bins.upper_bound as top_bin_upper_bound,
        top_bins.level as top_bin_level,
        top_bins.reference_share as top_bin_reference_share,
        top_bins.current_share as top_bin_current_share,
        top_bins.psi_contribution as top_bin_contribution
    from batches
    cross join monitored
    cross join thresholds
    left join per_feature
        on
            batches.batch_id = per_feature.batch_id
            and monitored.feature_name = per_feature.feature_name
    left join top_bins
        on
            batches.batch_id = top_bins.batch_id
            and monitored.feature_name = top_bins.feature_name
            and batches.n_claims > 0
    left join families
        on batches.batch_id = families.batch_id

)

select
    batch_id,
    model_version,
    scored_at,
    feature_name,
    feature_type,
    n_bins,
    reference_n,
    current_n,
    current_null_share,
    psi,
    critical_value,
    design_effect,
    {{ psi_status('psi', 'critical_value', 'current_n', 'n_bins', 'psi_warn', 'psi_error') }} as status,
    top_bin_index,
    top_bin_kind,
    top_bin_lower_bound,
    top_bin_upper_bound,
    top_bin_level,
    top_bin_reference_share,
    top_bin_current_share,
    top_bin_contribution,
    reference_design_effect
from measured
