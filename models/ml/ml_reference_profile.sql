{{
    config(
        materialized='incremental',
        unique_key='model_version',
        incremental_strategy=incremental_strategy(),
        on_schema_change='fail',
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
#}
{%- set features = monitored_features() %}
{%- if execute %}
    {#- the inputs the champion was trained on (none listed before the table exists: unit tests) #}
    {%- set logged_columns = adapter.get_columns_in_relation(ref('ml_reference_scores')) %}
    {%- set logged = logged_columns | map(attribute='name') | map('lower') | list %}
    {%- if logged %}
        {%- set features = features | selectattr('name', 'in', logged) | list %}
    {%- endif %}
{%- endif %}

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
        fraud_probability
    from {{ ref('ml_reference_scores') }}

),

reference_sizes as (

    select
        model_version,
        cast(count(*) as bigint) as reference_n
    from reference_claims
    group by model_version

),

-- The linter's duckdb dialect cannot parse the macro's GROUP BY GROUPING SETS (DuckDB and
-- Spark can): parse errors are off for this CTE alone.
-- noqa: disable=PRS
reference_counts as (

    {{ feature_bin_counts(
        values='reference_claims',
        bins='bins',
        key='model_version',
        features=features,
        score_columns=['fraud_probability'],
    ) }}

),
-- noqa: enable=PRS

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
        coalesce(reference_counts.n_values, 0) as reference_count
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
    cast(reference_count as double) / reference_n as reference_share
from counted
