{{ config(materialized='table', tags=['score']) }}
{#
    One row per batch the @challenger scored in shadow (fraud_scores_shadow): how its flags
    and scores compare with the champion's on the same claims, and, once SIU outcomes exist
    for flagged claims, each model's precision among them.

    - flag_overlap: claims both flag / claims either flags (Jaccard); flag_agreement: share
      of claims with the same flag.
    - score_psi: PSI of the challenger's fraud probabilities against the champion's, on 10
      bins cut at the deciles of the champion's scores of the batch (psi_share and
      psi_contribution, the terms mon_feature_psi_bins uses).
    - precision: among a model's flagged claims with a conclusive SIU outcome (confirmed_fraud
      or no_fraud; a claim with any confirmed_fraud counts as fraud), the confirmed share;
      null without such claims. SIU investigates what the champion flagged, so the
      challenger's precision rests on fewer labels: read it with its labelled count.
    Rebuilt whole by every `score` build (selector score, right after fraud_scores_shadow),
    so the precisions follow the SIU outcomes as they arrive.

    - status: warn when score_psi >= psi_warn (the two models score the batch differently
      enough to look at before promoting), ok otherwise; no_overlap when no claim of the batch
      was scored by both.
#}
{%- set deciles = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] %}

with

shadow_batches as (

    select
        batch_id,
        max(model_version) as model_version,
        max(scored_at) as scored_at
    from {{ ref('fraud_scores_shadow') }}
    group by batch_id

),

thresholds as (

    select
        {{ threshold_columns(['psi_warn']) }}
    from {{ ref('monitoring_thresholds') }}

),

labels as (

    select
        claim_id,
        max(case when outcome = 'confirmed_fraud' then 1 else 0 end) as is_fraud
    from {{ ref('stg_claims__siu_investigation') }}
    where outcome in ('confirmed_fraud', 'no_fraud')
    group by claim_id

),

paired as (

    select
        shadow.batch_id,
        champion.model_version as champion_version,
        shadow.model_version as challenger_version,
        cast(champion.fraud_probability as double) as champion_probability,
        cast(shadow.fraud_probability as double) as challenger_probability,
        champion.is_flagged as champion_flagged,
        shadow.is_flagged as challenger_flagged,
        labels.is_fraud
    from {{ ref('fraud_scores_shadow') }} as shadow
    inner join {{ ref('fraud_scores') }} as champion
        on
            shadow.batch_id = champion.batch_id
            and shadow.claim_id = champion.claim_id
    left join labels
        on shadow.claim_id = labels.claim_id

),

edges as (

    select
        batch_id,
        {{ percentiles_cont('champion_probability', deciles) }} as cuts
    from paired
    group by batch_id

),

binned as (

    select
        paired.batch_id,
        case
            {%- for position in range(1, deciles | length + 1) %}
                when paired.champion_probability <= {{ list_element('edges.cuts', position) }}
                    then {{ position }}
            {%- endfor %}
            else {{ deciles | length + 1 }}
        end as champion_bin,
        case
            {%- for position in range(1, deciles | length + 1) %}
                when paired.challenger_probability <= {{ list_element('edges.cuts', position) }}
                    then {{ position }}
            {%- endfor %}
            else {{ deciles | length + 1 }}
        end as challenger_bin
    from paired
    inner join edges
        on paired.batch_id = edges.batch_id

),

-- Counts per bin; a bin empty for both models is left out: both have the batch's n claims,
-- so its smoothed shares are equal and its PSI contribution is exactly 0.
bin_counts as (

    select
        batch_id,
        bin_index,
        sum(champion) as champion_count,
        sum(challenger) as challenger_count,
        sum(sum(champion)) over (partition by batch_id) as n_claims
    from (
        select
            batch_id,
            champion_bin as bin_index,
            1 as champion,
            0 as challenger
        from binned
        union all
        select
            batch_id,
            challenger_bin as bin_index,
            0 as champion,
            1 as challenger
        from binned
    ) as assigned
    group by batch_id, bin_index

),

bin_shares as (

    select
        batch_id,
        {{ psi_share('champion_count', 'n_claims', deciles | length + 1) }} as reference_share,
        {{ psi_share('challenger_count', 'n_claims', deciles | length + 1) }} as current_share
    from bin_counts

),

score_psi as (

    select
        batch_id,
        sum({{ psi_contribution('current_share', 'reference_share') }}) as score_psi
    from bin_shares
    group by batch_id

),

per_batch as (

    select
        batch_id,
        max(champion_version) as champion_version,
        max(challenger_version) as challenger_version,
        count(*) as n_claims,
        sum(case when champion_flagged then 1 else 0 end) as champion_flagged,
        sum(case when challenger_flagged then 1 else 0 end) as challenger_flagged,
        sum(case when champion_flagged and challenger_flagged then 1 else 0 end) as both_flagged,
        sum(case when champion_flagged or challenger_flagged then 1 else 0 end) as either_flagged,
        sum(case when champion_flagged = challenger_flagged then 1 else 0 end) as same_flag,
        sum(case when champion_flagged and is_fraud is not null then 1 else 0 end)
            as champion_labelled_flagged,
        sum(case when champion_flagged and is_fraud = 1 then 1 else 0 end) as champion_confirmed,
        sum(case when challenger_flagged and is_fraud is not null then 1 else 0 end)
            as challenger_labelled_flagged,
        sum(case when challenger_flagged and is_fraud = 1 then 1 else 0 end) as challenger_confirmed
    from paired
    group by batch_id

),

compared as (

    select  -- noqa: ST06
        shadow_batches.batch_id,
        shadow_batches.scored_at,
        per_batch.champion_version,
        score_psi.score_psi,
        coalesce(per_batch.challenger_version, shadow_batches.model_version) as challenger_version,
        cast(coalesce(per_batch.n_claims, 0) as bigint) as n_claims,
        cast(coalesce(per_batch.champion_flagged, 0) as bigint) as champion_flagged,
        cast(coalesce(per_batch.challenger_flagged, 0) as bigint) as challenger_flagged,
        cast(coalesce(per_batch.both_flagged, 0) as bigint) as both_flagged,
        cast(
            case
                when per_batch.either_flagged > 0
                    then cast(per_batch.both_flagged as double) / per_batch.either_flagged
            end as double
        ) as flag_overlap,
        cast(
            case
                when per_batch.n_claims > 0
                    then cast(per_batch.same_flag as double) / per_batch.n_claims
            end as double
        ) as flag_agreement,
        cast(coalesce(per_batch.champion_labelled_flagged, 0) as bigint) as champion_labelled_flagged,
        cast(
            case
                when per_batch.champion_labelled_flagged > 0
                    then cast(per_batch.champion_confirmed as double) / per_batch.champion_labelled_flagged
            end as double
        ) as champion_precision,
        cast(coalesce(per_batch.challenger_labelled_flagged, 0) as bigint) as challenger_labelled_flagged,
        cast(
            case
                when per_batch.challenger_labelled_flagged > 0
                    then cast(per_batch.challenger_confirmed as double) / per_batch.challenger_labelled_flagged
            end as double
        ) as challenger_precision,
        case
            when coalesce(per_batch.n_claims, 0) = 0 then 'no_overlap'
            when score_psi.score_psi >= thresholds.psi_warn then 'warn'
            else 'ok'
        end as status
    from shadow_batches
    cross join thresholds
    left join per_batch
        on shadow_batches.batch_id = per_batch.batch_id
    left join score_psi
        on shadow_batches.batch_id = score_psi.batch_id

)

select * from compared
