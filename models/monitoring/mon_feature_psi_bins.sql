{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='fail',
    )
}}
{#
    One row per batch, feature and reference bin: how the batch's claims fall into the bins
    of the reference profile of the model version that scored them, and the bin's share of
    the PSI. Bins come from ml_reference_profile (see its description): range bins are
    (lower_bound, upper_bound] with null bounds open, NULL and NaN go to the null bin,
    levels are matched exactly and anything else goes to OTHER.

    Shares are smoothed the same way on both sides, p = (n + 0.5) / (N + 0.5 K), so empty
    bins stay finite; contribution = (q - p) * ln(q / p).
#}
{%- set features = monitored_features() %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

scored as (

    select
        {%- for feature in features %}
            claims.{{ feature.name }},
        {%- endfor %}
        scores.batch_id,
        batches.model_version,
        batches.scored_at,
        scores.fraud_probability
    from {{ ref('fraud_scores') }} as scores
    inner join batches
        on scores.batch_id = batches.batch_id
    -- left join: a scored claim missing from the features counts in every NULL bin
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id

),

long_values as (

    {%- for feature in features %}
        select
            batch_id,
            model_version,
            '{{ feature.name }}' as feature_name,
            {%- if feature.type == 'numeric' %}
                cast({{ feature.name }} as double) as numeric_value,
                cast(null as {{ dbt.type_string() }}) as level_value,
                ({{ feature.name }} is null or isnan(cast({{ feature.name }} as double))) as is_null
            {%- else %}
                cast(null as double) as numeric_value,
                {{ level_text(feature.name, feature.type) }} as level_value,
                ({{ feature.name }} is null) as is_null
            {%- endif %}
        from scored
        union all
    {%- endfor %}
    select
        batch_id,
        model_version,
        'fraud_probability' as feature_name,
        cast(fraud_probability as double) as numeric_value,
        cast(null as {{ dbt.type_string() }}) as level_value,
        (fraud_probability is null or isnan(cast(fraud_probability as double))) as is_null
    from scored

),

profile as (

    select
        model_version,
        feature_name,
        feature_type,
        bin_index,
        bin_kind,
        lower_bound,
        upper_bound,
        level,
        reference_count
    from {{ ref('ml_reference_profile') }}
    where model_version in (select batches.model_version from batches)

),

special_bins as (

    select
        model_version,
        feature_name,
        max(case when bin_kind = 'null' then bin_index end) as null_bin,
        max(case when bin_kind = 'other' then bin_index end) as other_bin
    from profile
    group by model_version, feature_name

),

range_assigned as (

    select
        long_values.batch_id,
        long_values.feature_name,
        profile.bin_index
    from long_values
    inner join profile
        on
            long_values.model_version = profile.model_version
            and long_values.feature_name = profile.feature_name
            and profile.bin_kind = 'range'
            and (profile.lower_bound is null or long_values.numeric_value > profile.lower_bound)
            and (profile.upper_bound is null or long_values.numeric_value <= profile.upper_bound)
    where not long_values.is_null and long_values.numeric_value is not null

),

level_counts as (

    select
        batch_id,
        model_version,
        feature_name,
        level_value,
        is_null,
        count(*) as n_values
    from long_values
    where is_null or numeric_value is null
    group by batch_id, model_version, feature_name, level_value, is_null

),

level_assigned as (

    select
        level_counts.batch_id,
        level_counts.feature_name,
        level_counts.n_values,
        coalesce(
            case when level_counts.is_null then special_bins.null_bin end,
            profile.bin_index,
            special_bins.other_bin
        ) as bin_index
    from level_counts
    inner join special_bins
        on
            level_counts.model_version = special_bins.model_version
            and level_counts.feature_name = special_bins.feature_name
    left join profile
        on
            level_counts.model_version = profile.model_version
            and level_counts.feature_name = profile.feature_name
            and profile.bin_kind = 'level'
            and level_counts.level_value = profile.level
            and not level_counts.is_null

),

current_counts as (

    select
        batch_id,
        feature_name,
        bin_index,
        cast(sum(n_values) as bigint) as current_count
    from (
        select
            batch_id,
            feature_name,
            bin_index,
            count(*) as n_values
        from range_assigned
        group by batch_id, feature_name, bin_index
        union all
        select
            batch_id,
            feature_name,
            bin_index,
            n_values
        from level_assigned
    ) as assigned
    group by batch_id, feature_name, bin_index

),

bins as (

    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        profile.feature_name,
        profile.feature_type,
        profile.bin_index,
        profile.bin_kind,
        profile.lower_bound,
        profile.upper_bound,
        profile.level,
        profile.reference_count,
        cast(sum(profile.reference_count) over (
            partition by batches.batch_id, profile.feature_name
        ) as bigint) as reference_n,
        batches.n_claims as current_n,
        coalesce(current_counts.current_count, 0) as current_count,
        count(*) over (partition by batches.batch_id, profile.feature_name) as n_bins
    from batches
    inner join profile
        on batches.model_version = profile.model_version
    left join current_counts
        on
            batches.batch_id = current_counts.batch_id
            and profile.feature_name = current_counts.feature_name
            and profile.bin_index = current_counts.bin_index
    where profile.feature_name in (
            {%- for feature in features %}'{{ feature.name }}',
            {% endfor -%}
            'fraud_probability'
        )

),

shares as (

    select
        *,
        (cast(reference_count as double) + 0.5)
        / (cast(reference_n as double) + 0.5 * n_bins) as reference_share,
        (cast(current_count as double) + 0.5)
        / (cast(current_n as double) + 0.5 * n_bins) as current_share
    from bins

)

select
    batch_id,
    model_version,
    scored_at,
    feature_name,
    feature_type,
    bin_index,
    bin_kind,
    lower_bound,
    upper_bound,
    level,
    reference_count,
    current_count,
    reference_n,
    current_n,
    n_bins,
    reference_share,
    current_share,
    case
        when current_n > 0
            then (current_share - reference_share) * ln(current_share / reference_share)
    end as psi_contribution
from shares
