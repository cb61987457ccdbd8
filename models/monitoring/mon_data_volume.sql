{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='fail',
    )
}}
{#
    One row per batch and metric: the batch's claim count (metric row_count, subject
    'claims') and the null rate of every monitored model input (metric null_rate, subject =
    the column; NaN counts as null), against the batches scored before it (by scored_at).

    z = (value - mean) / max(std, floor) over the trailing window: the volume_window most
    recent earlier batches that were not themselves anomalous. A past batch is anomalous
    when its own z against its full trailing window (anomalous or not) reached volume_z_warn:
    a fixed two-pass rule, so a full rebuild and an incremental run agree. The floor keeps
    a perfectly steady history from turning noise into alarms: volume_row_count_min_relative_std
    times the mean for row counts, volume_null_rate_min_std for null rates.

    Status: no_data (no claims, or a null rate of an empty batch), insufficient_history
    (fewer than volume_min_history earlier batches in the window), error (|z| >=
    volume_z_error), warn (|z| >= volume_z_warn), ok.
#}
{%- set features = monitored_features() %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

thresholds as (

    select
        {{ threshold_columns([
            'volume_window', 'volume_min_history', 'volume_z_warn', 'volume_z_error',
            'volume_row_count_min_relative_std', 'volume_null_rate_min_std']) }}
    from {{ ref('monitoring_thresholds') }}

),

-- The batch's NULL (and NaN) count per model input. mon_feature_psi_bins has already counted
-- them, in the null bin of each input, in its one pass over the batch (the same rule: NULL,
-- NaN, or a scored claim missing from the features): a batch whose every model input has a
-- null bin there is read from it. Any other batch (a model version without a reference
-- profile, or a model input the champion was not trained on) is counted from the batch
-- itself; usually none is, and that branch reads no rows.
binned_batches as (

    select psi_bins.batch_id
    from {{ ref('mon_feature_psi_bins') }} as psi_bins
    inner join batches
        on
            psi_bins.batch_id = batches.batch_id
            and psi_bins.scored_at = batches.scored_at
    where
        psi_bins.bin_kind = 'null'
        and psi_bins.feature_name in (
            {%- for feature in features %}
                {{ sql_literal(feature.name) }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
    group by psi_bins.batch_id
    having count(distinct psi_bins.feature_name) = {{ features | length }}

),

binned_null_counts as (

    select
        {%- for feature in features %}
            sum(
                case
                    when psi_bins.feature_name = {{ sql_literal(feature.name) }}
                        then psi_bins.current_count
                    else 0
                end
            ) as {{ feature.name }},
        {%- endfor %}
        psi_bins.batch_id
    from {{ ref('mon_feature_psi_bins') }} as psi_bins
    inner join binned_batches
        on psi_bins.batch_id = binned_batches.batch_id
    where psi_bins.bin_kind = 'null'
    group by psi_bins.batch_id

),

-- the batches to count from their claims, filtered before the join to the features, so that
-- the join reads nothing when there are none
unbinned_batches as (

    select batch_id
    from batches
    where batch_id not in (select binned_batches.batch_id from binned_batches)

),

scanned_null_counts as (

    select
        {%- for feature in features %}
            sum(case
                when claims.{{ feature.name }} is null
                    {%- if feature.type == 'numeric' %}
                        or isnan(cast(claims.{{ feature.name }} as double))
                    {%- endif %}
                    then 1
                else 0
            end) as {{ feature.name }},
        {%- endfor %}
        scores.batch_id
    from {{ ref('fraud_scores') }} as scores
    inner join unbinned_batches
        on scores.batch_id = unbinned_batches.batch_id
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id
    group by scores.batch_id

),

null_counts as (

    {%- for source in ['binned_null_counts', 'scanned_null_counts'] %}
        select
            {%- for feature in features %}
                {{ feature.name }},
            {%- endfor %}
            batch_id
        from {{ source }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

new_values as (

    select
        batch_id,
        model_version,
        scored_at,
        'row_count' as metric_name,
        'claims' as subject,
        cast(n_claims as double) as value  -- noqa: RF04
    from batches
    {%- for feature in features %}
        union all
        select
            batches.batch_id,
            batches.model_version,
            batches.scored_at,
            'null_rate' as metric_name,
            {{ sql_literal(feature.name) }} as subject,
            case
                when batches.n_claims > 0
                    then cast(null_counts.{{ feature.name }} as double) / batches.n_claims
            end as value  -- noqa: RF04
        from batches
        left join null_counts
            on batches.batch_id = null_counts.batch_id
    {%- endfor %}

),

history as (

    select
        batch_id,
        model_version,
        scored_at,
        metric_name,
        subject,
        value
    from new_values
    {%- if is_incremental() %}
        union all
        select
            batch_id,
            model_version,
            scored_at,
            metric_name,
            subject,
            value
        from {{ this }}
        where batch_id not in (select batches.batch_id from batches)
    {%- endif %}

),

earlier as (

    select
        current_batch.batch_id,
        current_batch.metric_name,
        current_batch.subject,
        earlier_batch.batch_id as earlier_batch_id,
        earlier_batch.value,
        row_number() over (
            partition by current_batch.batch_id, current_batch.metric_name, current_batch.subject
            order by earlier_batch.scored_at desc, earlier_batch.batch_id desc
        ) as recency
    from history as current_batch
    inner join history as earlier_batch
        on
            current_batch.metric_name = earlier_batch.metric_name
            and current_batch.subject = earlier_batch.subject
            and (
                current_batch.scored_at > earlier_batch.scored_at
                or (
                    current_batch.scored_at = earlier_batch.scored_at
                    and current_batch.batch_id > earlier_batch.batch_id
                )
            )
    where earlier_batch.value is not null

),

first_pass_window as (

    select
        earlier.batch_id,
        earlier.metric_name,
        earlier.subject,
        count(*) as n_history,
        avg(earlier.value) as trailing_mean,
        stddev_samp(earlier.value) as trailing_std
    from earlier
    cross join thresholds
    where earlier.recency <= thresholds.volume_window
    group by earlier.batch_id, earlier.metric_name, earlier.subject

),

first_pass as (

    select
        history.batch_id,
        history.metric_name,
        history.subject,
        coalesce(
            first_pass_window.n_history >= thresholds.volume_min_history
            and abs(history.value - first_pass_window.trailing_mean) >= thresholds.volume_z_warn
            * greatest(
                coalesce(first_pass_window.trailing_std, 0),
                case
                    when history.metric_name = 'row_count'
                        then thresholds.volume_row_count_min_relative_std * first_pass_window.trailing_mean
                    else thresholds.volume_null_rate_min_std
                end
            ),
            false
        ) as is_anomalous
    from history
    cross join thresholds
    left join first_pass_window
        on
            history.batch_id = first_pass_window.batch_id
            and history.metric_name = first_pass_window.metric_name
            and history.subject = first_pass_window.subject

),

clean_earlier as (

    select
        earlier.batch_id,
        earlier.metric_name,
        earlier.subject,
        earlier.value,
        row_number() over (
            partition by earlier.batch_id, earlier.metric_name, earlier.subject
            order by earlier.recency
        ) as clean_recency
    from earlier
    inner join first_pass
        on
            earlier.earlier_batch_id = first_pass.batch_id
            and earlier.metric_name = first_pass.metric_name
            and earlier.subject = first_pass.subject
    where not first_pass.is_anomalous

),

clean_window as (

    select
        clean_earlier.batch_id,
        clean_earlier.metric_name,
        clean_earlier.subject,
        count(*) as n_history,
        avg(clean_earlier.value) as trailing_mean,
        stddev_samp(clean_earlier.value) as trailing_std
    from clean_earlier
    cross join thresholds
    where clean_earlier.clean_recency <= thresholds.volume_window
    group by clean_earlier.batch_id, clean_earlier.metric_name, clean_earlier.subject

),

scaled as (

    select
        new_values.batch_id,
        new_values.model_version,
        new_values.scored_at,
        new_values.metric_name,
        new_values.subject,
        new_values.value,
        clean_window.trailing_mean,
        clean_window.trailing_std,
        thresholds.volume_min_history,
        thresholds.volume_z_warn,
        thresholds.volume_z_error,
        coalesce(clean_window.n_history, 0) as history_batches,
        greatest(
            coalesce(clean_window.trailing_std, 0),
            case
                when new_values.metric_name = 'row_count'
                    then thresholds.volume_row_count_min_relative_std * clean_window.trailing_mean
                else thresholds.volume_null_rate_min_std
            end
        ) as z_denominator
    from new_values
    cross join thresholds
    left join clean_window
        on
            new_values.batch_id = clean_window.batch_id
            and new_values.metric_name = clean_window.metric_name
            and new_values.subject = clean_window.subject

),

scored_metrics as (

    select
        *,
        case
            when history_batches >= volume_min_history and z_denominator > 0
                then (value - trailing_mean) / z_denominator
        end as z_score
    from scaled

)

select
    batch_id,
    model_version,
    scored_at,
    metric_name,
    subject,
    value,
    history_batches,
    trailing_mean,
    trailing_std,
    z_score,
    case
        when value is null or (metric_name = 'row_count' and value = 0) then 'no_data'
        when history_batches < volume_min_history then 'insufficient_history'
        when z_score is null and value = trailing_mean then 'ok'
        when z_score is null or abs(z_score) >= volume_z_error then 'error'
        when abs(z_score) >= volume_z_warn then 'warn'
        else 'ok'
    end as status
from scored_metrics
