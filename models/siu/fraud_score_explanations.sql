-- Why each flagged claim was flagged, in words: the top 3 inputs that pushed the champion's
-- score up (ml_score_contributions, TreeSHAP), each worded with its template from
-- seeds/ref_reason_templates.csv ({value} = the claim's value). An input without a template
-- reads "feature_name = value";
-- a missing value "feature_name is missing (...)". One row per (batch_id, claim_id, reason_rank).

with contributions as (

    select * from {{ ref('ml_score_contributions') }}

),

templates as (

    select
        feature_name,
        reason_template
    from {{ ref('ref_reason_templates') }}

)

select
    contributions.batch_id,
    contributions.claim_id,
    contributions.feature_name,
    contributions.feature_value,
    contributions.model_name,
    contributions.model_version,
    cast(contributions.reason_rank as integer) as reason_rank,
    cast(contributions.contribution as double) as contribution,
    case
        -- a template reads a value: a missing one (too little history to compute it, which the
        -- model may read as a signal) is said plainly instead
        when contributions.feature_value = 'missing'
            then contributions.feature_name || ' is missing (too little history to compute it)'
        else
            coalesce(
                replace(templates.reason_template, '{value}', contributions.feature_value),
                contributions.feature_name || ' = ' || contributions.feature_value
            )
    end as reason
from contributions
left join templates
    on contributions.feature_name = templates.feature_name
