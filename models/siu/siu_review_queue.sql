-- The SIU's work list: the flagged claims of each scoring batch, ranked by expected
-- recoverable amount = fraud_probability * total_paid_amount (what is at stake if the claim is
-- fraud, weighted by how likely the model thinks it is), with the claim's three reasons and a
-- capacity cut: the first siu_review_capacity claims of a batch (seeds/monitoring_thresholds.csv)
-- are within capacity. The probability ranks claims (the classifiers weight the classes to
-- balance them, so it is higher than a calibrated fraud rate): read the amount as a priority,
-- not as money to book. Ties: higher probability first, then claim_id. tour_stops: the other
-- stops of the member's tour when the claim is a flagged tour stop (siu_member_tours), a ring
-- case to open with it.

with thresholds as (

    select
        {{ threshold_columns(['siu_review_capacity']) }}
    from {{ ref('monitoring_thresholds') }}

),

flagged as (

    select
        batch_id,
        claim_id,
        fraud_probability,
        anomaly_score,
        model_version,
        scored_at
    from {{ ref('fraud_scores') }}
    where is_flagged

),

claims as (

    select
        claim_id,
        person_id,
        billing_npi,
        rendering_npi,
        rendering_specialty,
        claim_start_date,
        total_charge_amount,
        total_paid_amount
    from {{ ref('fct_claim_features') }}

),

reasons as (

    select
        batch_id,
        claim_id,
        max(case when reason_rank = 1 then reason end) as reason_1,
        max(case when reason_rank = 2 then reason end) as reason_2,
        max(case when reason_rank = 3 then reason end) as reason_3
    from {{ ref('fraud_score_explanations') }}
    group by batch_id, claim_id

),

-- a flagged tour stop's other stops (siu_member_tours): a ring case to open with the claim
tours as (

    select
        batch_id,
        flagged_claim_id as claim_id,
        count(*) as tour_stops
    from {{ ref('siu_member_tours') }}
    group by batch_id, flagged_claim_id

),

ranked as (

    select
        flagged.batch_id,
        flagged.claim_id,
        claims.person_id,
        claims.billing_npi,
        claims.rendering_npi,
        claims.rendering_specialty,
        claims.claim_start_date,
        claims.total_charge_amount,
        claims.total_paid_amount,
        flagged.fraud_probability,
        flagged.anomaly_score,
        cast(flagged.fraud_probability * coalesce(claims.total_paid_amount, 0) as double)
            as expected_recoverable_amount,
        reasons.reason_1,
        reasons.reason_2,
        reasons.reason_3,
        flagged.model_version,
        flagged.scored_at,
        cast(coalesce(tours.tour_stops, 0) as bigint) as tour_stops,
        -- a bigint on every engine (Spark's row_number is an int)
        cast(row_number() over (
            partition by flagged.batch_id
            order by
                flagged.fraud_probability * coalesce(claims.total_paid_amount, 0) desc,
                flagged.fraud_probability desc,
                flagged.claim_id asc
        ) as bigint) as queue_rank
    from flagged
    inner join claims
        on flagged.claim_id = claims.claim_id
    left join reasons
        on
            flagged.batch_id = reasons.batch_id
            and flagged.claim_id = reasons.claim_id
    left join tours
        on
            flagged.batch_id = tours.batch_id
            and flagged.claim_id = tours.claim_id

)

select
    ranked.batch_id,
    ranked.queue_rank,
    ranked.claim_id,
    ranked.person_id,
    ranked.billing_npi,
    ranked.rendering_npi,
    ranked.rendering_specialty,
    ranked.claim_start_date,
    ranked.total_charge_amount,
    ranked.total_paid_amount,
    ranked.fraud_probability,
    ranked.anomaly_score,
    ranked.expected_recoverable_amount,
    ranked.reason_1,
    ranked.reason_2,
    ranked.reason_3,
    ranked.model_version,
    ranked.scored_at,
    ranked.tour_stops,
    ranked.queue_rank <= thresholds.siu_review_capacity as is_within_capacity
from ranked
cross join thresholds
