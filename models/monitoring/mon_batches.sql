{#
    One row per scoring batch: the model version that scored it, when, its ingest window and
    how many claims. Every batch the current scoring vars plan (scoring_batches(): the batch
    scoring_batch_id, or each N-day batch of scoring_batch_days) is always listed, even when
    scoring found no claims for it, so an empty batch is reported (no_data) instead of
    silently missing.
#}
{%- set planned = scoring_batches() %}
{#- A unit test's refs are CTEs (no schema), not tables: nothing to check there. #}
{%- set scores_ref = ref('fraud_scores') %}
{%- if execute and scores_ref.schema %}
    {%- set scores = load_relation(scores_ref) %}
    {%- set columns = adapter.get_columns_in_relation(scores) if scores else [] %}
    {%- set names = columns | map(attribute='name') | map('lower') | list %}
    {%- if names and not ('window_start' in names and 'window_end' in names) %}
        {{ exceptions.raise_compiler_error(
            "fraud_scores (" ~ scores ~ ") has no window_start / window_end columns: it was written "
            ~ "before scoring batches carried their ingest window. Run the score step once "
            ~ "(make score, or dbt build --selector score), which adds them, then monitor again.") }}
    {%- endif %}
{%- endif %}

with

scored as (

    select
        batch_id,
        max(model_version) as model_version,
        count(distinct model_version) as n_model_versions,
        max(scored_at) as scored_at,
        min(window_start) as window_start,
        max(window_end) as window_end,
        count(*) as n_claims
    from {{ ref('fraud_scores') }}
    group by batch_id

),

requested as (

    {%- for batch in planned %}
        select
            cast({{ sql_literal(batch[0]) }} as {{ dbt.type_string() }}) as batch_id,
            cast({{ sql_literal(batch[1]) if batch[1] else 'null' }} as timestamp) as window_start,
            cast({{ sql_literal(batch[2]) if batch[2] else 'null' }} as timestamp) as window_end,
            cast({{ sql_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp) as run_started_at
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select
    scored.model_version,
    coalesce(scored.batch_id, requested.batch_id) as batch_id,
    coalesce(scored.n_model_versions, 0) as n_model_versions,
    coalesce(scored.scored_at, requested.run_started_at) as scored_at,
    coalesce(scored.window_start, requested.window_start) as window_start,
    coalesce(scored.window_end, requested.window_end) as window_end,
    coalesce(scored.n_claims, 0) as n_claims
from scored
full outer join requested
    on scored.batch_id = requested.batch_id
