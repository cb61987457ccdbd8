{{ config(materialized='table') }}
{#
    One row per scored batch (mon_batches): how well the model that scored it is doing, as far
    as SIU outcomes closed by the monitoring date tell (realized), and what its calibrated
    probabilities expect while those outcomes lag (estimated, the idea of NannyML's CBPE).
    Every batch is recomputed on each run: outcomes keep arriving for months.

    Realized, on the batch's claims with a conclusive outcome (confirmed_fraud = 1, no_fraud =
    0) closed on or before as_of (macro monitoring_as_of):
    - realized_precision = confirmed flagged / labelled flagged, Wilson interval at
      1 - performance_alpha;
    - recall_labelled = confirmed flagged / confirmed: recall among the investigated claims;
    - average_precision of the labelled claims' scores (macro average_precision);
    - label_coverage = labelled / scored claims; days_since_window_end = as_of - window_end.
    SIU labels are not a random sample: the SIU investigates expensive and suspicious claims,
    and more of the flagged ones. So every realized figure is a figure among investigated
    claims, compared only with the same figure of the champion's validation window
    (ml_score_calibration: reference_precision, reference_average_precision), never with the
    ground truth; label_coverage says how much of the batch it rests on.

    Estimated, from the calibrated probability p of each claim's score bin (mon_calibration):
    - expected_precision = sum of p over flagged claims / flagged claims, its standard error
      sqrt(sum p (1 - p)) / flagged claims; expected_fraud_flagged = sum of p over flagged;
    - expected_precision_labelled: the same over the labelled flagged claims, so the estimate
      can be checked against the realized precision on the very same claims.

    Tests and status:
    - precision_p_value: one-sided two-proportion z-test that the batch's precision is below
      the reference's, z = (P_ref - P) / sqrt(P0 (1 - P0) (1/n + 1/n_ref)), P0 pooled.
    - calibration test (calibration in the large, on the labelled claims): z = (O - E) /
      sqrt(V), O the confirmed frauds, E = sum of n p and V = sum of confirmed_variance over
      the batch's bins (mon_calibration: binomial plus the calibration's own variance), with
      a two-sided p-value. Per-bin readings are in mon_calibration.
    - reference_expected_precision: expected_precision of the validation window's flagged
      claims (the same estimate where it was fitted), what the batch's estimate is compared
      with while its outcomes lag.
    - status: no_data (no claims), missing_reference (no calibration for the model version),
      insufficient_data (fewer than performance_min_labelled_flagged labelled flagged claims)
      unless the estimate already falls by performance_precision_drop_warn (warn_estimated);
      error (precision at least performance_precision_drop_error below the reference and
      significantly below it), warn (the same with performance_precision_drop_warn, or the
      calibration test's p-value below performance_alpha), ok. warn_estimated: the expected
      precision at least performance_precision_drop_warn below reference_expected_precision.
#}

with

thresholds as (

    select
        {{ threshold_columns([
            'performance_alpha', 'performance_min_labelled_flagged',
            'performance_precision_drop_warn', 'performance_precision_drop_error']) }}
    from {{ ref('monitoring_thresholds') }}

),

as_of as (

    select {{ monitoring_as_of(ref('fct_claim_features')) }} as as_of

),

batches as (

    select
        batch_id,
        model_version,
        scored_at,
        window_start,
        window_end,
        n_claims
    from {{ ref('mon_batches') }}

),

outcomes as (

    {{ closed_siu_outcomes(ref('stg_claims__siu_investigation'), 'as_of') }}

),

labelled as (

    select
        scores.batch_id,
        cast(scores.fraud_probability as double) as score,
        scores.is_flagged,
        outcomes.is_confirmed
    from {{ ref('fraud_scores') }} as scores
    inner join outcomes
        on scores.claim_id = outcomes.claim_id

),

realized as (

    select
        batch_id,
        count(*) as n_labelled,
        sum(is_confirmed) as n_confirmed,
        sum(case when is_flagged then 1 else 0 end) as n_labelled_flagged,
        sum(case when is_flagged then is_confirmed else 0 end) as n_confirmed_flagged
    from labelled
    group by batch_id

),

realized_average_precision as (

    {{ average_precision('labelled', 'batch_id') }}

),

estimated as (

    select
        batch_id,
        sum(n_flagged) as n_flagged_calibrated,
        sum(n_flagged * calibrated_probability) as expected_fraud_flagged,
        sum(n_flagged * calibrated_probability * (1 - calibrated_probability))
            as expected_fraud_flagged_variance,
        sum(n_labelled_flagged) as n_labelled_flagged_calibrated,
        sum(n_labelled_flagged * calibrated_probability) as expected_confirmed_labelled_flagged,
        sum(n_confirmed) as observed_confirmed_calibrated,
        sum(expected_confirmed) as expected_confirmed_calibrated,
        sum(confirmed_variance) as confirmed_variance
    from {{ ref('mon_calibration') }}
    group by batch_id

),

flagged as (

    select
        batch_id,
        sum(case when is_flagged then 1 else 0 end) as n_flagged
    from {{ ref('fraud_scores') }}
    group by batch_id

),

reference as (

    select
        model_version,
        sum(n_labelled_flagged) as reference_n_labelled_flagged,
        sum(n_confirmed_flagged) as reference_n_confirmed_flagged,
        max(reference_average_precision) as reference_average_precision,
        sum(n_flagged * calibrated_probability) / nullif(sum(n_flagged), 0) as reference_expected_precision
    from {{ ref('ml_score_calibration') }}
    group by model_version

),

joined as (

    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        batches.window_start,
        batches.window_end,
        cast(batches.n_claims as bigint) as n_claims,
        cast(coalesce(flagged.n_flagged, 0) as bigint) as n_flagged,
        cast(coalesce(realized.n_labelled, 0) as bigint) as n_labelled,
        cast(coalesce(realized.n_confirmed, 0) as bigint) as n_confirmed,
        cast(coalesce(realized.n_labelled_flagged, 0) as bigint) as n_labelled_flagged,
        cast(coalesce(realized.n_confirmed_flagged, 0) as bigint) as n_confirmed_flagged,
        realized_average_precision.average_precision,
        estimated.n_flagged_calibrated,
        estimated.expected_fraud_flagged,
        estimated.expected_fraud_flagged_variance,
        estimated.n_labelled_flagged_calibrated,
        estimated.expected_confirmed_labelled_flagged,
        estimated.observed_confirmed_calibrated,
        estimated.expected_confirmed_calibrated,
        estimated.confirmed_variance,
        cast(reference.reference_n_labelled_flagged as bigint) as reference_n_labelled_flagged,
        cast(reference.reference_n_confirmed_flagged as bigint) as reference_n_confirmed_flagged,
        reference.reference_average_precision,
        reference.reference_expected_precision,
        thresholds.performance_alpha,
        thresholds.performance_min_labelled_flagged,
        thresholds.performance_precision_drop_warn,
        thresholds.performance_precision_drop_error,
        (select as_of.as_of from as_of) as as_of
    from batches
    cross join thresholds
    left join flagged
        on batches.batch_id = flagged.batch_id
    left join realized
        on batches.batch_id = realized.batch_id
    left join realized_average_precision
        on batches.batch_id = realized_average_precision.batch_id
    left join estimated
        on batches.batch_id = estimated.batch_id
    left join reference
        on batches.model_version = reference.model_version

),

rates as (

    select
        *,
        case when n_labelled_flagged > 0 then cast(n_confirmed_flagged as double) / n_labelled_flagged end
            as realized_precision,
        case when n_confirmed > 0 then cast(n_confirmed_flagged as double) / n_confirmed end
            as recall_labelled,
        case when n_claims > 0 then cast(n_labelled as double) / n_claims end as label_coverage,
        case when reference_n_labelled_flagged > 0
                then cast(reference_n_confirmed_flagged as double) / reference_n_labelled_flagged
        end as reference_precision,
        case when n_flagged_calibrated > 0 then expected_fraud_flagged / n_flagged_calibrated end
            as expected_precision,
        case when n_flagged_calibrated > 0 then sqrt(expected_fraud_flagged_variance) / n_flagged_calibrated end
            as expected_precision_std_error,
        case when n_labelled_flagged_calibrated > 0
                then expected_confirmed_labelled_flagged / n_labelled_flagged_calibrated
        end as expected_precision_labelled,
        case when n_labelled_flagged + reference_n_labelled_flagged > 0
                then cast(n_confirmed_flagged + reference_n_confirmed_flagged as double)
                    / (n_labelled_flagged + reference_n_labelled_flagged)
        end as pooled_precision,
        {{ normal_quantile_upper('1 - performance_alpha / 2') }} as interval_z,
        case when confirmed_variance > 0
                then (observed_confirmed_calibrated - expected_confirmed_calibrated) / sqrt(confirmed_variance)
        end as calibration_z
    from joined

),

tested as (

    select
        *,
        reference_precision - realized_precision as precision_drop,
        case
            when n_labelled_flagged > 0 and reference_n_labelled_flagged > 0
                and pooled_precision > 0 and pooled_precision < 1
                then (reference_precision - realized_precision) / sqrt(
                        pooled_precision * (1 - pooled_precision)
                        * (1.0 / n_labelled_flagged + 1.0 / reference_n_labelled_flagged)
                    )
        end as precision_z
    from rates

),

valued as (

    select
        *,
        case
            when precision_z >= 0 then {{ normal_upper_tail('precision_z') }}
            when precision_z < 0 then 1 - {{ normal_upper_tail('-precision_z') }}
        end as precision_p_value,
        case
            when calibration_z >= 0 then 2 * {{ normal_upper_tail('calibration_z') }}
            when calibration_z < 0 then 2 * {{ normal_upper_tail('-calibration_z') }}
        end as calibration_p_value
    from tested

)

select
    batch_id,
    model_version,
    scored_at,
    window_start,
    window_end,
    as_of,
    cast(
        {{ dbt.datediff("window_end", "as_of", "day") }} as bigint
    ) as days_since_window_end,
    n_claims,
    n_flagged,
    n_labelled,
    cast(label_coverage as double) as label_coverage,
    n_confirmed,
    n_labelled_flagged,
    n_confirmed_flagged,
    cast(realized_precision as double) as realized_precision,
    cast({{ wilson_bound('n_confirmed_flagged', 'n_labelled_flagged', 'interval_z', '-') }} as double)
        as precision_ci_low,
    cast({{ wilson_bound('n_confirmed_flagged', 'n_labelled_flagged', 'interval_z', '+') }} as double)
        as precision_ci_high,
    cast(recall_labelled as double) as recall_labelled,
    cast(average_precision as double) as average_precision,
    cast(expected_precision as double) as expected_precision,
    cast(expected_precision_std_error as double) as expected_precision_std_error,
    cast(expected_fraud_flagged as double) as expected_fraud_flagged,
    cast(expected_precision_labelled as double) as expected_precision_labelled,
    cast(reference_precision as double) as reference_precision,
    reference_n_labelled_flagged,
    cast(reference_average_precision as double) as reference_average_precision,
    cast(reference_expected_precision as double) as reference_expected_precision,
    cast(precision_drop as double) as precision_drop,
    cast(precision_z as double) as precision_z,
    cast(precision_p_value as double) as precision_p_value,
    cast(observed_confirmed_calibrated as bigint) as calibration_observed,
    cast(expected_confirmed_calibrated as double) as calibration_expected,
    cast(calibration_z as double) as calibration_z,
    cast(calibration_p_value as double) as calibration_p_value,
    case
        when n_claims = 0 then 'no_data'
        when reference_precision is null then 'missing_reference'
        when n_labelled_flagged < performance_min_labelled_flagged
            then case
                    when reference_expected_precision - expected_precision >= performance_precision_drop_warn
                        then 'warn_estimated'
                    else 'insufficient_data'
                end
        when precision_drop >= performance_precision_drop_error
            and precision_p_value < performance_alpha then 'error'
        when precision_drop >= performance_precision_drop_warn
            and precision_p_value < performance_alpha then 'warn'
        when calibration_p_value < performance_alpha then 'warn'
        else 'ok'
    end as status
from valued
