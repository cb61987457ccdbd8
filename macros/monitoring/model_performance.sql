{#
    Building blocks of the performance monitoring (ml_score_calibration, mon_calibration,
    mon_model_performance). Formulas in docs/monitoring.md, "Model performance".
#}

{#
    The monitoring date: the var monitoring_as_of when set, else the latest ingest time in the
    claims (fct_claim_features.ingested_at), the data's "now". SIU outcomes count only when
    closed on or before it. The caller passes the features relation, so its ref is the model's.
#}
{% macro monitoring_as_of(features_relation) -%}
    {%- set as_of = checked_var('monitoring_as_of') -%}
    {%- if as_of -%}
        cast({{ sql_literal(as_of) }} as timestamp)
    {%- else -%}
        (select cast(max(features.ingested_at) as timestamp) from {{ features_relation }} as features)
    {%- endif -%}
{%- endmacro %}

{#
    The SIU outcomes the performance monitoring counts, one row per claim: conclusive ones
    (confirmed_fraud = 1, no_fraud = 0; inconclusive left out, as training does) closed on or
    before the monitoring date, read from the CTE as_of_cte (one row, column as_of: the
    macro monitoring_as_of). A select statement: the body of a CTE.
#}
{% macro closed_siu_outcomes(investigations, as_of_cte) -%}
    select
        claim_id,
        case when outcome = 'confirmed_fraud' then 1 else 0 end as is_confirmed
    from {{ investigations }}
    where
        outcome in ('confirmed_fraud', 'no_fraud')
        and investigation_closed_date <= (select cast({{ as_of_cte }}.as_of as date) from {{ as_of_cte }})
{%- endmacro %}

{#
    One bound of the Wilson score interval of a binomial proportion x / n at normal quantile z:
    (p + z^2/(2n) +- z sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n), p = x / n; null when n = 0.
    sign: '-' for the lower bound, '+' for the upper one.
#}
{% macro wilson_bound(successes, n, z, sign) -%}
    {%- if sign not in ('-', '+') -%}
        {{ exceptions.raise_compiler_error("wilson_bound: sign must be '-' or '+', got " ~ sign) }}
    {%- endif -%}
    (case
        when ({{ n }}) > 0 then
            (
                cast({{ successes }} as double) / ({{ n }})
                + ({{ z }}) * ({{ z }}) / (2.0 * ({{ n }}))
                {{ sign }} ({{ z }}) * sqrt(
                    (cast({{ successes }} as double) / ({{ n }}))
                    * (1 - cast({{ successes }} as double) / ({{ n }})) / ({{ n }})
                    + ({{ z }}) * ({{ z }}) / (4.0 * ({{ n }}) * ({{ n }}))
                )
            ) / (1 + ({{ z }}) * ({{ z }}) / ({{ n }}))
    end)
{%- endmacro %}

{#
    Average precision (area under the precision-recall curve as scikit-learn's
    average_precision_score computes it: no interpolation, tied scores one threshold) per key
    over a relation of labelled claims with columns <key>, score and is_confirmed (1/0):
    AP = sum over thresholds t, descending, of (positives at t / all positives) * precision at
    t, precision at t = positives scored >= t / claims scored >= t. Null without a positive.
#}
{% macro average_precision(labelled, key) -%}
    select
        {{ key }},
        case
            when max(total_positives) > 0
                then sum(positives_at * cumulative_positives / cumulative_claims) / max(total_positives)
        end as average_precision
    from (
        select
            {{ key }},
            cast(positives_at as double) as positives_at,
            cast(sum(claims_at) over (
                partition by {{ key }} order by score desc
                rows between unbounded preceding and current row
            ) as double) as cumulative_claims,
            cast(sum(positives_at) over (
                partition by {{ key }} order by score desc
                rows between unbounded preceding and current row
            ) as double) as cumulative_positives,
            cast(sum(positives_at) over (partition by {{ key }}) as double) as total_positives
        from (
            select
                {{ key }},
                score,
                count(*) as claims_at,
                sum(is_confirmed) as positives_at
            from {{ labelled }}
            group by {{ key }}, score
        ) as thresholds
    ) as cumulated
    group by {{ key }}
{%- endmacro %}

{#
    The join condition of a score with the calibration bin holding it (ml_score_calibration):
    score_lower <= score < score_upper, the first bin open below and the last open above.
    Fraud probabilities lie in [0, 1], so -1 and 2 stand for the open ends.
#}
{% macro in_calibration_bin(score, bins) -%}
    {{ score }} >= coalesce({{ bins }}.score_lower, -1.0)
    and {{ score }} < coalesce({{ bins }}.score_upper, 2.0)
{%- endmacro %}
