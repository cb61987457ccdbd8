{{
    config(
        materialized='incremental',
        unique_key='model_version',
        incremental_strategy=incremental_strategy(),
        on_schema_change='fail',
    )
}}
{#
    One row per model version and calibration bin: how often the @champion's scores on its
    validation window (ml_validation_scores: claims it was not trained on) turned out to be
    fraud, the calibration the performance monitoring reads (histogram binning, Zadrozny and
    Elkan 2001). The classifiers weight the classes, so their probabilities rank well but are
    not fraud rates; this table maps a score to one.

    - labelled claims: the validation claims with a conclusive SIU outcome (confirmed_fraud = 1,
      no_fraud = 0; inconclusive left out, as training does) closed on or before the monitoring
      date (macro monitoring_as_of: var monitoring_as_of, else the latest claim ingest).
    - bins: the labelled claims, unflagged and flagged apart, cut in score order into groups
      of ceil(labelled / calibration_bins) claims (monitoring_thresholds), about that many
      bins in all; a bin starts at the lowest score of its group, the first flagged one at the
      flag threshold (the lowest flagged validation score), so no bin mixes flagged and
      unflagged claims, and ends where the next starts; the first bin is open below, the
      last open above (score_lower / score_upper null).
    - calibrated_probability = (n_confirmed + 1/2) / (n_labelled + 1) of the bin: the share of
      fraud among labelled claims scored like this, with Jeffreys' half count so that no bin
      says 0 or 1 from a few dozen claims. SIU labels are not a random sample (the SIU picks
      expensive and suspicious claims), so this is a fraud rate among investigated claims, the
      same scale as the realized precision mon_model_performance compares it with.
    - reference figures of the validation window, on every row of the version: flagged claims
      (at or above the champion's threshold), labelled flagged, confirmed flagged and the
      average precision of the labelled claims (macro average_precision).
    Rebuilt for the current @champion by each score build; earlier champions' rows stay.
#}

with

thresholds as (

    select {{ threshold_columns(['calibration_bins']) }}
    from {{ ref('monitoring_thresholds') }}

),

as_of as (

    select {{ monitoring_as_of(ref('fct_claim_features')) }} as as_of

),

validation as (

    select
        model_name,
        model_version,
        run_id,
        claim_id,
        cast(fraud_probability as double) as fraud_probability,
        is_flagged
    from {{ ref('ml_validation_scores') }}

),

outcomes as (

    {{ closed_siu_outcomes(ref('stg_claims__siu_investigation'), 'as_of') }}

),

labelled as (

    select
        validation.model_version,
        validation.claim_id,
        validation.fraud_probability as score,
        validation.is_flagged,
        outcomes.is_confirmed
    from validation
    inner join outcomes
        on validation.claim_id = outcomes.claim_id

),

-- the flag threshold as the lowest flagged validation score
flag_starts as (

    select
        model_version,
        min(fraud_probability) as flag_start
    from validation
    where is_flagged
    group by model_version

),

ranked as (

    select
        labelled.model_version,
        labelled.score,
        labelled.is_flagged,
        row_number() over (
            partition by labelled.model_version, labelled.is_flagged
            order by labelled.score, labelled.claim_id
        ) as side_rank,
        ceil(count(*) over (partition by labelled.model_version) / thresholds.calibration_bins)
            as group_size
    from labelled
    cross join thresholds

),

group_starts as (

    select
        ranked.model_version,
        case
            when ranked.is_flagged and floor((ranked.side_rank - 1) / ranked.group_size) = 0
                then max(flag_starts.flag_start)
            else min(ranked.score)
        end as score_start
    from ranked
    left join flag_starts
        on ranked.model_version = flag_starts.model_version
    group by
        ranked.model_version,
        ranked.is_flagged,
        floor((ranked.side_rank - 1) / ranked.group_size)

),

-- tied scores can start two groups at one score: one bin
distinct_starts as (

    select distinct
        model_version,
        score_start
    from group_starts

),

bins as (

    select
        model_version,
        score_start,
        row_number() over (partition by model_version order by score_start) as bin_index,
        lead(score_start) over (partition by model_version order by score_start) as score_upper
    from distinct_starts

),

open_bins as (

    select
        model_version,
        bin_index,
        score_upper,
        case when bin_index > 1 then score_start end as score_lower
    from bins

),

validation_counts as (

    select
        open_bins.model_version,
        open_bins.bin_index,
        count(*) as n_claims,
        sum(case when validation.is_flagged then 1 else 0 end) as n_flagged
    from open_bins
    inner join validation
        on
            open_bins.model_version = validation.model_version
            and {{ in_calibration_bin('validation.fraud_probability', 'open_bins') }}
    group by open_bins.model_version, open_bins.bin_index

),

labelled_counts as (

    select
        open_bins.model_version,
        open_bins.bin_index,
        count(*) as n_labelled,
        sum(labelled.is_confirmed) as n_confirmed,
        sum(case when labelled.is_flagged then 1 else 0 end) as n_labelled_flagged,
        sum(case when labelled.is_flagged then labelled.is_confirmed else 0 end) as n_confirmed_flagged,
        avg(labelled.score) as mean_score
    from open_bins
    inner join labelled
        on
            open_bins.model_version = labelled.model_version
            and {{ in_calibration_bin('labelled.score', 'open_bins') }}
    group by open_bins.model_version, open_bins.bin_index

),

reference_average_precision as (

    {{ average_precision('labelled', 'model_version') }}

),

models as (

    select distinct
        model_name,
        model_version,
        run_id
    from validation

)

select
    models.model_name,
    models.model_version,
    models.run_id,
    cast(open_bins.bin_index as bigint) as bin_index,
    open_bins.score_lower,
    open_bins.score_upper,
    labelled_counts.mean_score,
    reference_average_precision.average_precision as reference_average_precision,
    cast(coalesce(validation_counts.n_claims, 0) as bigint) as n_claims,
    cast(coalesce(validation_counts.n_flagged, 0) as bigint) as n_flagged,
    cast(coalesce(labelled_counts.n_labelled, 0) as bigint) as n_labelled,
    cast(coalesce(labelled_counts.n_confirmed, 0) as bigint) as n_confirmed,
    cast(coalesce(labelled_counts.n_labelled_flagged, 0) as bigint) as n_labelled_flagged,
    cast(coalesce(labelled_counts.n_confirmed_flagged, 0) as bigint) as n_confirmed_flagged,
    (cast(coalesce(labelled_counts.n_confirmed, 0) as double) + 0.5)
    / (cast(coalesce(labelled_counts.n_labelled, 0) as double) + 1) as calibrated_probability,
    (select as_of.as_of from as_of) as as_of
from open_bins
inner join models
    on open_bins.model_version = models.model_version
left join validation_counts
    on
        open_bins.model_version = validation_counts.model_version
        and open_bins.bin_index = validation_counts.bin_index
left join labelled_counts
    on
        open_bins.model_version = labelled_counts.model_version
        and open_bins.bin_index = labelled_counts.bin_index
left join reference_average_precision
    on open_bins.model_version = reference_average_precision.model_version
