{#
    Member tours: a provider ring bills a shared set of members, each taken to every provider
    of the ring within weeks, all of them new to the member. The classifier flags the later stops
    of such a tour (the member has already been to new providers), mostly not the first one or
    two: billed before the rest, no tour is behind them yet, point in time (docs/benchmarks.md,
    ring recall by trace). This table brings them to the SIU with the stop that was flagged.

    One row per scoring batch, flagged tour stop and other stop of the member's tour:
    - a flagged tour stop is a flagged claim that is the member's first visit to its provider
      (is_new_patient) after at least siu_tour_min_new_providers (2) other new providers in the
      30 days before (member_new_providers_prior_30d);
    - the other stops are the member's other first visits to new providers that started within
      siu_tour_days (30) days before or after it, flagged or not, scored yet or not.
    Unlike a model input, a stop may come after the flagged claim: the table is a case review
    made after the batch, rebuilt with each (thresholds: seeds/monitoring_thresholds.csv).
#}

with

thresholds as (

    select
        {{ threshold_columns(['siu_tour_min_new_providers', 'siu_tour_days']) }}
    from {{ ref('monitoring_thresholds') }}

),

scores as (

    select
        batch_id,
        claim_id,
        is_flagged,
        fraud_probability
    from {{ ref('fraud_scores') }}

),

claims as (

    select
        claim_id,
        person_id,
        rendering_npi,
        rendering_specialty,
        claim_start_date,
        {{ day_number('claim_start_date') }} as day_number,
        is_new_patient,
        member_new_providers_prior_30d,
        total_paid_amount
    from {{ ref('fct_claim_features') }}

),

flagged_stops as (

    select
        scores.batch_id,
        claims.claim_id,
        claims.person_id,
        claims.day_number
    from scores
    inner join claims
        on scores.claim_id = claims.claim_id
    cross join thresholds
    where
        scores.is_flagged
        and claims.is_new_patient
        and claims.member_new_providers_prior_30d >= thresholds.siu_tour_min_new_providers

),

-- each claim's scores over every batch that scored it (a rescored claim has several)
claim_scores as (

    select
        claim_id,
        max(case when is_flagged then 1 else 0 end) = 1 as is_flagged,
        max(fraud_probability) as fraud_probability
    from scores
    group by claim_id

),

final as (

    select
        flagged_stops.batch_id,
        flagged_stops.claim_id as flagged_claim_id,
        claims.claim_id,
        claims.person_id,
        claims.rendering_npi,
        claims.rendering_specialty,
        claims.claim_start_date,
        claims.total_paid_amount,
        claim_scores.fraud_probability,
        cast(claims.day_number - flagged_stops.day_number as integer) as days_from_flagged,
        claim_scores.claim_id is not null as is_scored,
        coalesce(claim_scores.is_flagged, false) as is_flagged
    from flagged_stops
    cross join thresholds
    inner join claims
        on
            flagged_stops.person_id = claims.person_id
            and flagged_stops.claim_id <> claims.claim_id
            and claims.is_new_patient
            and claims.day_number
            between flagged_stops.day_number - thresholds.siu_tour_days
            and flagged_stops.day_number + thresholds.siu_tour_days
    left join claim_scores
        on claims.claim_id = claim_scores.claim_id

)

select * from final
