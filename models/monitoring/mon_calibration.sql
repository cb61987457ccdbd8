{{ config(materialized='table') }}
{#
    One row per scored batch, model version and calibration bin (ml_score_calibration): how
    many of the batch's claims fall in the bin, how many are flagged, and, among those with a
    conclusive SIU outcome closed by the monitoring date (monitoring_as_of), the observed fraud
    rate against the calibrated one. Every batch is recomputed on each run: its outcomes keep
    arriving for months after it was scored.

    - expected_confirmed = n_labelled * p, p the bin's calibrated_probability.
    - observed_rate = n_confirmed / n_labelled, Wilson interval at 1 - performance_alpha.
    - confirmed_variance = n p (1 - p) (1 + n / (m + 1)), n = n_labelled, m the bin's labelled
      validation claims: the binomial variance of n_confirmed plus that of p itself (estimated
      from m claims), so the comparison is two-sample. mon_model_performance sums expected
      and observed counts and these variances over the bins (its calibration test).
    - calibration_z = (n_confirmed - n p) / sqrt(confirmed_variance), only where both expected
      counts n p and n (1 - p) reach 5 (the normal approximation needs them; weekly batches
      seldom have so many labelled claims in one bin): a per-bin reading, not a verdict.
#}

with

thresholds as (

    select {{ threshold_columns(['performance_alpha']) }}
    from {{ ref('monitoring_thresholds') }}

),

as_of as (

    select {{ monitoring_as_of(ref('fct_claim_features')) }} as as_of

),

calibration as (

    select
        model_version,
        bin_index,
        score_lower,
        score_upper,
        n_labelled as reference_n_labelled,
        calibrated_probability
    from {{ ref('ml_score_calibration') }}

),

outcomes as (

    {{ closed_siu_outcomes(ref('stg_claims__siu_investigation'), 'as_of') }}

),

scores as (

    select
        batch_id,
        model_version,
        claim_id,
        cast(fraud_probability as double) as fraud_probability,
        is_flagged
    from {{ ref('fraud_scores') }}

),

batch_models as (

    select distinct
        batch_id,
        model_version
    from scores

),

counts as (

    select
        scores.batch_id,
        calibration.model_version,
        calibration.bin_index,
        count(*) as n_claims,
        sum(case when scores.is_flagged then 1 else 0 end) as n_flagged,
        count(outcomes.is_confirmed) as n_labelled,
        coalesce(sum(outcomes.is_confirmed), 0) as n_confirmed,
        sum(case when scores.is_flagged and outcomes.is_confirmed is not null then 1 else 0 end)
            as n_labelled_flagged,
        sum(case when scores.is_flagged and outcomes.is_confirmed = 1 then 1 else 0 end)
            as n_confirmed_flagged
    from scores
    inner join calibration
        on
            scores.model_version = calibration.model_version
            and {{ in_calibration_bin('scores.fraud_probability', 'calibration') }}
    left join outcomes
        on scores.claim_id = outcomes.claim_id
    group by scores.batch_id, calibration.model_version, calibration.bin_index

),

bins as (

    select
        batch_models.batch_id,
        calibration.model_version,
        calibration.bin_index,
        calibration.score_lower,
        calibration.score_upper,
        calibration.reference_n_labelled,
        calibration.calibrated_probability,
        cast(coalesce(counts.n_claims, 0) as bigint) as n_claims,
        cast(coalesce(counts.n_flagged, 0) as bigint) as n_flagged,
        cast(coalesce(counts.n_labelled, 0) as bigint) as n_labelled,
        cast(coalesce(counts.n_confirmed, 0) as bigint) as n_confirmed,
        cast(coalesce(counts.n_labelled_flagged, 0) as bigint) as n_labelled_flagged,
        cast(coalesce(counts.n_confirmed_flagged, 0) as bigint) as n_confirmed_flagged
    from batch_models
    inner join calibration
        on batch_models.model_version = calibration.model_version
    left join counts
        on
            batch_models.batch_id = counts.batch_id
            and calibration.model_version = counts.model_version
            and calibration.bin_index = counts.bin_index

)

select
    bins.batch_id,
    bins.model_version,
    cast(bins.bin_index as bigint) as bin_index,
    bins.score_lower,
    bins.score_upper,
    bins.calibrated_probability,
    bins.reference_n_labelled,
    bins.n_claims,
    bins.n_flagged,
    bins.n_labelled,
    bins.n_confirmed,
    bins.n_labelled_flagged,
    bins.n_confirmed_flagged,
    cast(bins.n_labelled * bins.calibrated_probability as double) as expected_confirmed,
    case when bins.n_labelled > 0 then cast(bins.n_confirmed as double) / bins.n_labelled end
        as observed_rate,
    cast({{ wilson_bound('bins.n_confirmed', 'bins.n_labelled',
        normal_quantile_upper('1 - thresholds.performance_alpha / 2'), '-') }} as double) as observed_ci_low,
    cast({{ wilson_bound('bins.n_confirmed', 'bins.n_labelled',
        normal_quantile_upper('1 - thresholds.performance_alpha / 2'), '+') }} as double) as observed_ci_high,
    cast(
        bins.n_labelled * bins.calibrated_probability * (1 - bins.calibrated_probability)
        * (1 + cast(bins.n_labelled as double) / (bins.reference_n_labelled + 1))
        as double
    ) as confirmed_variance,
    case
        when
            bins.n_labelled * bins.calibrated_probability >= 5
            and bins.n_labelled * (1 - bins.calibrated_probability) >= 5
            then
                (bins.n_confirmed - bins.n_labelled * bins.calibrated_probability)
                / sqrt(
                    bins.n_labelled * bins.calibrated_probability * (1 - bins.calibrated_probability)
                    * (1 + cast(bins.n_labelled as double) / (bins.reference_n_labelled + 1))
                )
    end as calibration_z,
    (select as_of.as_of from as_of) as as_of
from bins
cross join thresholds
