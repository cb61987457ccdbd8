-- Why each flagged claim was flagged, in words: the top 3 inputs that pushed the champion's
-- score up (ml_score_contributions, TreeSHAP), each worded with its template from
-- seeds/ref_reason_templates.csv ({value} = the claim's value). An input without a template
-- reads "feature_name = value". One row per (batch_id, claim_id, reason_rank).

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
    coalesce(
        replace(templates.reason_template, '{value}', contributions.feature_value),
        contributions.feature_name || ' = ' || contributions.feature_value
    ) as reason
from contributions
left join templates
    on contributions.feature_name = templates.feature_name
