{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per batch: the distribution of the fraud probability and the anomaly score, the
    flag rate against the flag budget, and the shift of the fraud probability from the
    champion's training window.

    - percentiles: linear interpolation (numpy's default); std: sample standard deviation.
    - flag rate: z-test of the flagged count against the budget share b,
      z = (x - n b) / sqrt(max(n b (1 - b), V)), two-sided p-value, V the cluster-robust
      variance of the count over the batch's C rendering providers,
      V = C / (C - 1) * sum_c (x_c - b n_c)^2 (flags cluster by provider: rings, provider-level
      inputs); flag_rate_design_effect = max(1, V / (n b (1 - b))).
    - ks_statistic: Kolmogorov-Smirnov distance to the reference, read on the reference's
      101-point quantile grid (u_i, v_i): max over i of |F(v_i) - u_i| and |F(v_i-) - u_i|,
      F(v) the batch's share of scores <= v and F(v-) its share < v.
    - score_psi: the PSI of fraud_probability (mon_feature_psi_bins), same critical value
      (Bonferroni over the batch's PSIs included) and verdict as mon_feature_psi (its design
      effects: score_psi_design_effect, score_psi_reference_design_effect).
    - status: no_data, missing_reference, error (score PSI error), warn (score PSI warn, or a
      flag rate significantly off the budget and at least flag_rate_max_ratio times above or
      below it: the review queue doubled or halved), insufficient_evidence (score PSI), ok.
      The ratio rule stays beside the cluster-robust test: a significant but small move is not
      an alarm.
#}
{#- On Spark and Databricks the KS reads at most this many reference grid points (var
    reference_grid_points: training logs 101; tests/assert_reference_score_grid_fits_the_ks.sql
    checks the grid); DuckDB's reads any number (macros/monitoring/score_grid_counts.sql). #}
{%- set max_grid_points = checked_var('reference_grid_points') | int %}
{%- set percentiles = [0.5, 0.9, 0.95, 0.99] %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

thresholds as (

    select
        {{ threshold_columns([
            'psi_warn', 'psi_error', 'psi_significance_quantile', 'flag_budget_share',
            'flag_rate_max_ratio', 'disparate_impact_alpha']) }}
    from {{ ref('monitoring_thresholds') }}

),

scores as (

    select
        batch_id,
        claim_id,
        cast(fraud_probability as double) as fraud_probability,
        cast(anomaly_score as double) as anomaly_score,
        is_flagged
    from {{ ref('fraud_scores') }}
    where batch_id in (select batches.batch_id from batches)

),

-- the batch's claims and flags per rendering provider (a claim without one is a provider of
-- its own kind, null): flags cluster by provider, the flag-rate test's variance counts that
provider_flags as (

    select
        scores.batch_id,
        features.rendering_npi,
        count(*) as n_claims,
        sum(case when scores.is_flagged then 1 else 0 end) as n_flagged
    from scores
    left join {{ ref('fct_claim_features') }} as features
        on scores.claim_id = features.claim_id
    group by scores.batch_id, features.rendering_npi

),

flag_variance as (

    select
        provider_flags.batch_id,
        case
            when count(*) > 1
                then cast(count(*) as double) / (count(*) - 1) * sum(
                        (provider_flags.n_flagged - thresholds.flag_budget_share * provider_flags.n_claims)
                        * (provider_flags.n_flagged - thresholds.flag_budget_share * provider_flags.n_claims)
                    )
        end as flagged_count_variance
    from provider_flags
    cross join thresholds
    group by provider_flags.batch_id

),

score_summary as (

    select
        batch_id,
        count(*) as n_scored,
        avg(fraud_probability) as fraud_probability_mean,
        stddev_samp(fraud_probability) as fraud_probability_std,
        {{ percentiles_cont('fraud_probability', percentiles) }} as fraud_probability_percentiles,
        avg(anomaly_score) as anomaly_score_mean,
        stddev_samp(anomaly_score) as anomaly_score_std,
        {{ percentiles_cont('anomaly_score', percentiles) }} as anomaly_score_percentiles,
        sum(case when is_flagged then 1 else 0 end) as n_flagged
    from scores
    group by batch_id

),

summary as (

    select
        batch_id,
        n_scored,
        {%- for score in ['fraud_probability', 'anomaly_score'] %}
            {{ score }}_mean,
            {{ score }}_std,
            {%- for p in percentiles %}
                {{ list_element(score ~ '_percentiles', loop.index) }}
                    as {{ score }}_p{{ (p * 100) | round | int }},
            {%- endfor %}
        {%- endfor %}
        n_flagged
    from score_summary

),

grid as (

    select
        batches.batch_id,
        quantiles.quantile,
        quantiles.value
    from batches
    inner join {{ ref('ml_reference_score_quantiles') }} as quantiles
        on batches.model_version = quantiles.model_version

),

-- F(v) and F(v-) of the batch at every reference grid point (macros/monitoring/score_grid_counts).
grid_points as (

    {{ score_grid_counts(scores='scores', grid='grid', max_grid_points=max_grid_points) }}

),

grid_count as (

    select
        batch_id,
        count(*) as n_grid_points
    from grid
    group by batch_id

),

ks as (

    select
        grid_points.batch_id,
        max(greatest(
            abs(cast(grid_points.n_at_or_below as double) / summary.n_scored - grid_points.quantile),
            abs(cast(grid_points.n_below as double) / summary.n_scored - grid_points.quantile)
        )) as ks_statistic
    from grid_points
    inner join summary
        on grid_points.batch_id = summary.batch_id
    group by grid_points.batch_id

),

-- the batch's PSIs are one family of tests (psi_family_quantile), as in mon_feature_psi
families as (

    select
        batch_id,
        count(distinct feature_name) as n_psi_tests
    from {{ ref('mon_feature_psi_bins') }}
    where batch_id in (select batches.batch_id from batches)
    group by batch_id

),

score_psi as (

    select
        batch_id,
        max(n_bins) as n_bins,
        max(reference_n) as reference_n,
        sum(psi_contribution) as psi,
        {{ psi_design_effect('current_count_variance', 'current_count', 'n_bins') }} as design_effect,
        {{ psi_design_effect('reference_count_variance', 'reference_count', 'n_bins') }}
            as reference_design_effect
    from {{ ref('mon_feature_psi_bins') }}
    where
        feature_name = 'fraud_probability'
        and batch_id in (select batches.batch_id from batches)
    group by batch_id

),

measured as (

    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        batches.n_claims as n,
        summary.fraud_probability_mean,
        summary.fraud_probability_std,
        summary.fraud_probability_p50,
        summary.fraud_probability_p90,
        summary.fraud_probability_p95,
        summary.fraud_probability_p99,
        summary.anomaly_score_mean,
        summary.anomaly_score_std,
        summary.anomaly_score_p50,
        summary.anomaly_score_p90,
        summary.anomaly_score_p95,
        summary.anomaly_score_p99,
        cast(coalesce(summary.n_flagged, 0) as bigint) as n_flagged,
        case
            when batches.n_claims > 0
                then cast(summary.n_flagged as double) / batches.n_claims
        end as flag_rate,
        thresholds.flag_budget_share as expected_flag_rate,
        case
            when batches.n_claims > 0
                then (summary.n_flagged - batches.n_claims * thresholds.flag_budget_share)
                    / sqrt(greatest(
                        batches.n_claims * thresholds.flag_budget_share
                        * (1 - thresholds.flag_budget_share),
                        coalesce(flag_variance.flagged_count_variance, 0)
                    ))
        end as flag_rate_z,
        case
            when batches.n_claims > 0
                then greatest(
                        cast(1 as double),
                        coalesce(flag_variance.flagged_count_variance, 0) / (
                            batches.n_claims * thresholds.flag_budget_share
                            * (1 - thresholds.flag_budget_share)
                        )
                    )
        end as flag_rate_design_effect,
        ks.ks_statistic,
        case when batches.n_claims > 0 then score_psi.psi end as score_psi,
        case
            when batches.n_claims > 0 and score_psi.n_bins is not null
                then {{ psi_critical_value(
                    'score_psi.reference_n', 'batches.n_claims', 'score_psi.n_bins',
                    psi_family_quantile('thresholds.psi_significance_quantile', 'families.n_psi_tests'),
                    'score_psi.design_effect', 'score_psi.reference_design_effect') }}
        end as score_psi_critical_value,
        case when batches.n_claims > 0 then score_psi.design_effect end as score_psi_design_effect,
        case
            when batches.n_claims > 0 then score_psi.reference_design_effect
        end as score_psi_reference_design_effect,
        score_psi.n_bins as score_psi_bins,
        (grid_count.n_grid_points is not null) as has_reference_grid,
        thresholds.psi_warn,
        thresholds.psi_error,
        thresholds.flag_rate_max_ratio,
        thresholds.disparate_impact_alpha as alpha
    from batches
    cross join thresholds
    left join summary
        on batches.batch_id = summary.batch_id
    left join ks
        on batches.batch_id = ks.batch_id
    left join score_psi
        on batches.batch_id = score_psi.batch_id
    left join flag_variance
        on batches.batch_id = flag_variance.batch_id
    left join families
        on batches.batch_id = families.batch_id
    left join grid_count
        on batches.batch_id = grid_count.batch_id

),

tested as (

    select
        *,
        case
            when flag_rate_z is not null then 2 * {{ normal_upper_tail('abs(flag_rate_z)') }}
        end as flag_rate_p_value,
        {{ psi_status(
            'score_psi', 'score_psi_critical_value', 'n', 'score_psi_bins',
            'psi_warn', 'psi_error') }} as score_psi_status
    from measured

)

select
    batch_id,
    model_version,
    scored_at,
    n,
    fraud_probability_mean,
    fraud_probability_std,
    fraud_probability_p50,
    fraud_probability_p90,
    fraud_probability_p95,
    fraud_probability_p99,
    anomaly_score_mean,
    anomaly_score_std,
    anomaly_score_p50,
    anomaly_score_p90,
    anomaly_score_p95,
    anomaly_score_p99,
    n_flagged,
    flag_rate,
    expected_flag_rate,
    flag_rate_z,
    flag_rate_p_value,
    flag_rate_design_effect,
    ks_statistic,
    score_psi,
    score_psi_critical_value,
    score_psi_design_effect,
    score_psi_reference_design_effect,
    score_psi_status,
    case
        when n = 0 then 'no_data'
        when score_psi_status = 'missing_reference' or not has_reference_grid
            then 'missing_reference'
        when score_psi_status = 'error' then 'error'
        when
            score_psi_status = 'warn'
            or (
                flag_rate_p_value < alpha
                and (
                    flag_rate >= expected_flag_rate * flag_rate_max_ratio
                    or flag_rate <= expected_flag_rate / flag_rate_max_ratio
                )
            )
            then 'warn'
        when score_psi_status = 'insufficient_evidence' then 'insufficient_evidence'
        else 'ok'
    end as status
from tested
