{{
    config(
        materialized='incremental',
        unique_key='model_version',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per model version, feature and bin: the bins training chose for the @champion
    (ml_reference_bins) with how many claims of its training window fall in each
    (ml_reference_scores: the window's claims with the model inputs as training saw them and
    the champion's scores on them, as logged with its MLflow run; never today's
    fct_claim_features, which may have been regenerated, backfilled or drifted since). Counted
    by feature_bin_counts (macros/monitoring), the macro mon_feature_psi_bins counts the scoring
    batches with: one binning rule for both sides of the PSI. reference_share = reference_count
    / the window's claims (nulls included), so a feature's shares sum to 1. A monitored feature
    the champion was not trained on has no bins and no column here, and is left out. Rebuilt for
    the current @champion by each score build; earlier champions' rows stay.
    reference_count_variance: the bin count's cluster-robust variance, the window's claims
    clustered by rendering provider as the batches' are (clustered_count_variance;
    mon_feature_psi turns it into the reference's design effect). A champion whose run logged
    no providers counts each claim as its own cluster (no design effect).
#}
{%- set features = monitored_features() %}
{%- set logged = [] %}
{%- if execute %}
    {#- the inputs the champion was trained on (none listed before the table exists: unit tests) #}
    {%- set logged_columns = adapter.get_columns_in_relation(ref('ml_reference_scores')) %}
    {%- set logged = logged_columns | map(attribute='name') | map('lower') | list %}
    {%- if logged %}
        {%- set features = features | selectattr('name', 'in', logged) | list %}
    {%- endif %}
{%- endif %}
{#- the training window's providers, logged with the inputs since they cluster its claims #}
{%- set has_providers = not logged or 'rendering_npi' in logged %}

with

bins as (

    select
        model_name,
        model_version,
        run_id,
        feature_name,
        feature_type,
        bin_index,
        bin_kind,
        -- typed here: a copy whose bounds or levels are all null (no numeric, or no categorical
        -- input) must still give the columns their types
        cast(lower_bound as double) as lower_bound,
        cast(upper_bound as double) as upper_bound,
        cast(level as {{ dbt.type_string() }}) as level  -- noqa: RF04
    from {{ ref('ml_reference_bins') }}

),

reference_claims as (

    select
        {%- for feature in features %}
            {{ feature.name }},
        {%- endfor %}
        model_version,
        -- the clusters: the window's providers (a missing one is a cluster of its own); a
        -- champion logged without them counts each claim as its own cluster
        {{ dbt.concat([
            "model_version", "'|'",
            ("coalesce(cast(rendering_npi as " ~ dbt.type_string() ~ "), '')") if has_providers
            else "cast(claim_id as " ~ dbt.type_string() ~ ")"]) }} as cluster_key,
        fraud_probability
    from {{ ref('ml_reference_scores') }}

),

clusters as (

    select
        cluster_key,
        model_version,
        count(*) as cluster_n
    from reference_claims
    group by cluster_key, model_version

),

reference_sizes as (

    select
        model_version,
        cast(sum(cluster_n) as bigint) as reference_n,
        count(*) as n_clusters,
        sum(cast(cluster_n as double) * cluster_n) as sum_cluster_n_squared
    from clusters
    group by model_version

),

-- The linter's duckdb dialect cannot parse the macro's GROUP BY GROUPING SETS (DuckDB and
-- Spark can): parse errors are off for this CTE alone.
-- noqa: disable=PRS
cluster_counts as (

    {{ feature_bin_counts(
        values='reference_claims',
        bins='bins',
        key='cluster_key',
        features=features,
        score_columns=['fraud_probability'],
    ) }}

),
-- noqa: enable=PRS

-- per model version, feature and bin: the count, and the sums its variance needs
reference_counts as (

    {{ cluster_count_sums('cluster_counts', 'clusters', 'model_version') }}

),

counted as (

    select
        bins.model_name,
        bins.model_version,
        bins.run_id,
        bins.feature_name,
        bins.feature_type,
        bins.bin_index,
        bins.bin_kind,
        bins.lower_bound,
        bins.upper_bound,
        bins.level,
        reference_sizes.reference_n,
        coalesce(reference_counts.n_values, 0) as reference_count,
        {{ clustered_count_variance(
            n_clusters='reference_sizes.n_clusters',
            n='reference_sizes.reference_n',
            bin_count='coalesce(reference_counts.n_values, 0)',
            sum_squares='coalesce(reference_counts.sum_squares, 0)',
            sum_cross='coalesce(reference_counts.sum_cross, 0)',
            sum_cluster_n_squared='reference_sizes.sum_cluster_n_squared',
        ) }} as reference_count_variance
    from bins
    inner join reference_sizes
        on bins.model_version = reference_sizes.model_version
    left join reference_counts
        on
            bins.model_version = reference_counts.model_version
            and bins.feature_name = reference_counts.feature_name
            and bins.bin_index = reference_counts.bin_index
    where bins.feature_name in (
            {%- for feature in features %}{{ sql_literal(feature.name) }},
            {% endfor -%}
            'fraud_probability'
        )

)

select
    model_name,
    model_version,
    run_id,
    feature_name,
    feature_type,
    bin_index,
    bin_kind,
    lower_bound,
    upper_bound,
    level,
    reference_count,
    reference_count_variance,
    cast(reference_count as double) / reference_n as reference_share
from counted
