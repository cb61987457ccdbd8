{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='fail',
    )
}}
{#
    One row per batch: the distribution of the fraud probability and the anomaly score, the
    flag rate against the flag budget, and the shift of the fraud probability from the
    champion's training window.

    - percentiles: linear interpolation (numpy's default); std: sample standard deviation.
    - flag rate: binomial z-test of the flagged count against the budget share b,
      z = (x - n b) / sqrt(n b (1 - b)), two-sided p-value.
    - ks_statistic: Kolmogorov-Smirnov distance to the reference, read on the reference's
      101-point quantile grid (u_i, v_i): max over i of |F(v_i) - u_i| and |F(v_i-) - u_i|,
      F(v) the batch's share of scores <= v and F(v-) its share < v.
    - score_psi: the PSI of fraud_probability (mon_feature_psi_bins), same critical value
      and verdict as mon_feature_psi.
    - status: no_data, missing_reference, error (score PSI error), warn (score PSI warn, or a
      flag rate significantly off the budget and at least flag_rate_max_ratio times above or
      below it: the review queue doubled or halved), insufficient_evidence (score PSI), ok.
      Flags cluster in time (fraud rings), so the binomial test alone is too eager.
#}
{#- The KS below reads at most this many reference grid points (var reference_grid_points:
    training logs 101; tests/assert_reference_score_grid_fits_the_ks.sql checks the grid). #}
{%- set max_grid_points = checked_var('reference_grid_points') | int %}

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
        cast(fraud_probability as double) as fraud_probability,
        cast(anomaly_score as double) as anomaly_score,
        is_flagged
    from {{ ref('fraud_scores') }}
    where batch_id in (select batches.batch_id from batches)

),

summary as (

    select
        batch_id,
        count(*) as n_scored,
        avg(fraud_probability) as fraud_probability_mean,
        stddev_samp(fraud_probability) as fraud_probability_std,
        {{ percentile_cont('fraud_probability', 0.5) }} as fraud_probability_p50,
        {{ percentile_cont('fraud_probability', 0.9) }} as fraud_probability_p90,
        {{ percentile_cont('fraud_probability', 0.95) }} as fraud_probability_p95,
        {{ percentile_cont('fraud_probability', 0.99) }} as fraud_probability_p99,
        avg(anomaly_score) as anomaly_score_mean,
        stddev_samp(anomaly_score) as anomaly_score_std,
        {{ percentile_cont('anomaly_score', 0.5) }} as anomaly_score_p50,
        {{ percentile_cont('anomaly_score', 0.9) }} as anomaly_score_p90,
        {{ percentile_cont('anomaly_score', 0.95) }} as anomaly_score_p95,
        {{ percentile_cont('anomaly_score', 0.99) }} as anomaly_score_p99,
        sum(case when is_flagged then 1 else 0 end) as n_flagged
    from scores
    group by batch_id

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

-- F(v) on the grid without sorting the batch: the grid values in ascending order (rank r,
-- ties by quantile) are the edges e_0 <= e_1 <= ...; a score s has n_edges_below(s) edges < s
-- and n_edges_at_or_below(s) edges <= s (binary searches, macros/monitoring/edges_below.sql).
-- Then s <= e_r iff n_edges_below(s) <= r, and s < e_r iff n_edges_at_or_below(s) <= r: the
-- counts F(v) and F(v-) need are sums over at most (grid points + 1)^2 positions per batch.
grid_ranked as (

    select
        batch_id,
        quantile,
        value,
        row_number() over (partition by batch_id order by value asc, quantile asc) - 1
            as grid_rank
    from grid

),

grid_edges as (

    select
        {%- for rank in range(max_grid_points) %}
            max(case when grid_rank = {{ rank }} then value end) as edge_{{ rank }},
        {%- endfor %}
        batch_id
    from grid_ranked
    group by batch_id

),

score_positions as (

    select
        scores.batch_id,
        {{ edges_below('scores.fraud_probability', 'grid_edges.edge_', max_grid_points) }}
            as n_edges_below,
        {{ edges_below('scores.fraud_probability', 'grid_edges.edge_', max_grid_points, strictly=false) }}
            as n_edges_at_or_below
    from scores
    inner join grid_edges
        on scores.batch_id = grid_edges.batch_id
    where scores.fraud_probability is not null

),

position_counts as (

    select
        batch_id,
        n_edges_below,
        n_edges_at_or_below,
        count(*) as n_scores
    from score_positions
    group by batch_id, n_edges_below, n_edges_at_or_below

),

grid_points as (

    select
        grid_ranked.batch_id,
        grid_ranked.quantile,
        coalesce(sum(case
            when position_counts.n_edges_below <= grid_ranked.grid_rank
                then position_counts.n_scores
        end), 0) as n_at_or_below,
        coalesce(sum(case
            when position_counts.n_edges_at_or_below <= grid_ranked.grid_rank
                then position_counts.n_scores
        end), 0) as n_below
    from grid_ranked
    left join position_counts
        on grid_ranked.batch_id = position_counts.batch_id
    group by grid_ranked.batch_id, grid_ranked.quantile, grid_ranked.grid_rank

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

score_psi as (

    select
        batch_id,
        max(n_bins) as n_bins,
        max(reference_n) as reference_n,
        sum(psi_contribution) as psi
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
                    / sqrt(
                        batches.n_claims * thresholds.flag_budget_share
                        * (1 - thresholds.flag_budget_share)
                    )
        end as flag_rate_z,
        ks.ks_statistic,
        case when batches.n_claims > 0 then score_psi.psi end as score_psi,
        case
            when batches.n_claims > 0 and score_psi.n_bins is not null
                then {{ psi_critical_value(
                    'score_psi.reference_n', 'batches.n_claims', 'score_psi.n_bins',
                    'thresholds.psi_significance_quantile') }}
        end as score_psi_critical_value,
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
    ks_statistic,
    score_psi,
    score_psi_critical_value,
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
