{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per batch, feature and reference bin: how the batch's claims fall into the bins
    of the reference profile of the model version that scored them, and the bin's share of
    the PSI. Bins and reference counts come from ml_reference_profile, whose counts are made by
    the same macro, feature_bin_counts (macros/monitoring): range bins are (lower_bound,
    upper_bound] with null bounds open, NULL and NaN go to the null bin, levels are matched
    exactly and anything else goes to OTHER.

    Shares are smoothed the same way on both sides, p = (n + 0.5) / (N + 0.5 K), so empty
    bins stay finite; contribution = (q - p) * ln(q / p).
    current_count_variance: the cluster-robust variance of the bin's batch count, the batch's
    claims clustered by rendering provider (a provider-level input takes one value for all
    of a provider's claims of a day): C / (C - 1) * sum_c (m_ck - q_k m_c)^2 over the C
    providers of the batch, m_ck their claims in the bin, m_c their claims, q_k = m_k / M the
    bin's raw share; null with fewer than 2 providers (clustered_count_variance).
    reference_count_variance: the same for the training window's count (ml_reference_profile).
    mon_feature_psi turns them into the PSI's design effects.
#}
{%- set features = monitored_features() %}
{#- Range bins per feature the SQL reads (the score has 20; deciles at most 10). #}
{%- set max_range_bins = 20 %}

with

batches as (

    select
        *,
        row_number() over (order by batch_id) as batch_key
    from ({{ batches_to_monitor(ref('mon_batches')) }}) as to_monitor

),

scored as (

    select
        {%- for feature in features %}
            claims.{{ feature.name }},
        {%- endfor %}
        batches.batch_key,
        -- the clusters: the batch's providers (a missing one is a cluster of its own)
        {{ dbt.concat([
            "cast(batches.batch_key as " ~ dbt.type_string() ~ ")", "'|'",
            "coalesce(cast(claims.rendering_npi as " ~ dbt.type_string() ~ "), '')"]) }} as cluster_key,
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
        reference_count,
        reference_count_variance
    from {{ ref('ml_reference_profile') }}
    where model_version in (select batches.model_version from batches)

),

-- The batch's claims per bin, by the binning rule the reference counts use too.
-- The linter's duckdb dialect cannot parse the macro's GROUP BY GROUPING SETS (DuckDB and
-- Spark can): parse errors are off for this CTE alone.
-- noqa: disable=PRS
cluster_counts as (

    {{ feature_bin_counts(
        values='scored',
        bins='profile',
        key='cluster_key',
        features=features,
        score_columns=['fraud_probability'],
        max_range_bins=max_range_bins,
    ) }}

),

-- noqa: enable=PRS

clusters as (

    select
        cluster_key,
        batch_key,
        count(*) as cluster_n
    from scored
    group by cluster_key, batch_key

),

cluster_totals as (

    select
        batch_key,
        count(*) as n_clusters,
        sum(cast(cluster_n as double) * cluster_n) as sum_cluster_n_squared
    from clusters
    group by batch_key

),

-- per batch, feature and bin: the count, and the sums the count's variance needs
current_counts as (

    {{ cluster_count_sums('cluster_counts', 'clusters', 'batch_key') }}

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
        coalesce(current_counts.n_values, 0) as current_count,
        count(*) over (partition by batches.batch_id, profile.feature_name) as n_bins,
        {{ clustered_count_variance(
            n_clusters='cluster_totals.n_clusters',
            n='batches.n_claims',
            bin_count='coalesce(current_counts.n_values, 0)',
            sum_squares='coalesce(current_counts.sum_squares, 0)',
            sum_cross='coalesce(current_counts.sum_cross, 0)',
            sum_cluster_n_squared='cluster_totals.sum_cluster_n_squared',
        ) }} as current_count_variance,
        profile.reference_count_variance
    from batches
    inner join profile
        on batches.model_version = profile.model_version
    left join current_counts
        on
            batches.batch_key = current_counts.batch_key
            and profile.feature_name = current_counts.feature_name
            and profile.bin_index = current_counts.bin_index
    left join cluster_totals
        on batches.batch_key = cluster_totals.batch_key
    where profile.feature_name in (
            {%- for feature in features %}{{ sql_literal(feature.name) }},
            {% endfor -%}
            'fraud_probability'
        )

),

shares as (

    select
        *,
        {{ psi_share('reference_count', 'reference_n', 'n_bins') }} as reference_share,
        {{ psi_share('current_count', 'current_n', 'n_bins') }} as current_share
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
    current_count_variance,
    case
        when current_n > 0
            then {{ psi_contribution('current_share', 'reference_share') }}
    end as psi_contribution,
    reference_count_variance
from shares
