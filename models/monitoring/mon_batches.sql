{#
    One row per scoring batch: the model version that scored it, when, and how many claims.
    The batch named by var scoring_batch_id is always listed, even when scoring found no
    claims for it, so an empty batch is reported (no_data) instead of silently missing.
#}
with

scored as (

    select
        batch_id,
        max(model_version) as model_version,
        count(distinct model_version) as n_model_versions,
        max(scored_at) as scored_at,
        count(*) as n_claims
    from {{ ref('fraud_scores') }}
    group by batch_id

),

requested as (

    select
        cast({{ sql_literal(checked_var('scoring_batch_id')) }} as {{ dbt.type_string() }}) as batch_id,
        cast({{ sql_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp) as run_started_at

)

select
    scored.model_version,
    coalesce(scored.batch_id, requested.batch_id) as batch_id,
    coalesce(scored.n_model_versions, 0) as n_model_versions,
    coalesce(scored.scored_at, requested.run_started_at) as scored_at,
    coalesce(scored.n_claims, 0) as n_claims
from scored
full outer join requested
    on scored.batch_id = requested.batch_id
