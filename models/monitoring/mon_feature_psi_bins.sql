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
{#- Range bins per feature the SQL reads (the score has 20; deciles at most 10). #}
{%- set max_range_bins = 20 %}
{%- set numeric_names = features | selectattr('type', 'equalto', 'numeric') | map(attribute='name') | list + ['fraud_probability'] %}

with

batches as (

    select
        to_monitor.*,
        row_number() over (order by to_monitor.batch_id) as batch_key
    from ({{ batches_to_monitor(ref('mon_batches')) }}) as to_monitor

),

scored as (

    select
        {%- for feature in features %}
            claims.{{ feature.name }},
        {%- endfor %}
        batches.batch_key,
        batches.model_version,
        scores.fraud_probability
    from {{ ref('fraud_scores') }} as scores
    inner join batches
        on scores.batch_id = batches.batch_id
    -- left join: a scored claim missing from the features counts in every NULL bin
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id

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

feature_bins as (

    select
        model_version,
        feature_name,
        max(case when bin_kind = 'null' then bin_index end) as null_bin,
        max(case when bin_kind = 'other' then bin_index end) as other_bin
    from profile
    group by model_version, feature_name

),

-- One row per model version: for every numeric feature (and the score) its null bin and the
-- upper edges of its range bins, which are bins 0, 1, ... in order (the profile contract).
numeric_edges as (

    select
        model_version
        {%- for name in numeric_names %},
            max(case when feature_name = {{ sql_literal(name) }} and bin_kind = 'null' then bin_index end)
                as {{ name }}__null_bin
            {%- for edge in range(max_range_bins - 1) %},
                max(
                    case
                        when feature_name = {{ sql_literal(name) }} and bin_kind = 'range' and bin_index = {{ edge }}
                            then upper_bound
                    end
                ) as {{ name }}__edge_{{ edge }}
            {%- endfor %}
        {%- endfor %}
    from profile
    group by model_version

),

-- A value's range bin is the number of edges below it: bins are (lower, upper], so a value
-- on an edge stays in the bin that ends there, and an outlier lands in an open outer bin.
-- NULL and NaN go to the null bin. Counted per feature, then stacked.
-- Every numeric feature binned in one pass over the batch: one bin column per feature, and
-- one grouping set per feature counts the claims per bin.
numeric_binned as (

    select
        {%- for name in numeric_names %}
            case
                when numeric_edges.{{ name }}__null_bin is null then null
                when scored.{{ name }} is null or isnan(cast(scored.{{ name }} as double))
                    then numeric_edges.{{ name }}__null_bin
                else {{ edges_below(
                    'cast(scored.' ~ name ~ ' as double)',
                    'numeric_edges.' ~ name ~ '__edge_',
                    max_range_bins - 1) }}
            end as {{ name }}__bin,
        {%- endfor %}
        scored.batch_key
    from scored
    inner join numeric_edges
        on scored.model_version = numeric_edges.model_version

),

numeric_grouped as (

    select
        {%- for name in numeric_names %}
            {{ name }}__bin,
        {%- endfor %}
        batch_key,
        count(*) as n_values
    from numeric_binned
    group by grouping sets (
        {%- for name in numeric_names %}
            (batch_key, {{ name }}__bin){% if not loop.last %},{% endif %}
        {%- endfor %}
    )

),

numeric_counts as (

    {%- for name in numeric_names %}
        select
            batch_key,
            {{ sql_literal(name) }} as feature_name,
            {{ name }}__bin as bin_index,
            n_values
        from numeric_grouped
        where {{ name }}__bin is not null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

level_values as (

    {%- for feature in features if feature.type != 'numeric' %}
        select
            batch_key,
            model_version,
            {{ sql_literal(feature.name) }} as feature_name,
            {{ level_text(feature.name, feature.type) }} as level_value
        from scored
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- else %}
        select
            batch_key,
            model_version,
            cast(null as {{ dbt.type_string() }}) as feature_name,
            cast(null as {{ dbt.type_string() }}) as level_value
        from scored
        where 1 = 0
    {%- endfor %}

),

level_counts as (

    select
        batch_key,
        model_version,
        feature_name,
        level_value,
        count(*) as n_values
    from level_values
    group by batch_key, model_version, feature_name, level_value

),

level_assigned as (

    select
        level_counts.batch_key,
        level_counts.feature_name,
        level_counts.n_values,
        case
            when level_counts.level_value is null then feature_bins.null_bin
            else coalesce(profile.bin_index, feature_bins.other_bin)
        end as bin_index
    from level_counts
    inner join feature_bins
        on
            level_counts.model_version = feature_bins.model_version
            and level_counts.feature_name = feature_bins.feature_name
    left join profile
        on
            level_counts.model_version = profile.model_version
            and level_counts.feature_name = profile.feature_name
            and profile.bin_kind = 'level'
            and level_counts.level_value = profile.level

),

current_counts as (

    select
        batch_key,
        feature_name,
        bin_index,
        cast(sum(n_values) as bigint) as current_count
    from (
        select
            batch_key,
            feature_name,
            bin_index,
            n_values
        from numeric_counts
        union all
        select
            batch_key,
            feature_name,
            bin_index,
            n_values
        from level_assigned
    ) as assigned
    group by batch_key, feature_name, bin_index

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
            batches.batch_key = current_counts.batch_key
            and profile.feature_name = current_counts.feature_name
            and profile.bin_index = current_counts.bin_index
    where profile.feature_name in (
            {%- for feature in features %}{{ sql_literal(feature.name) }},
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
