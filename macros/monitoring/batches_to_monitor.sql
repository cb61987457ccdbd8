{#
    The batches this run monitors: every batch of mon_batches on a full build; on an
    incremental run only those not monitored yet or scored again since (a rescored batch
    has a newer scored_at, and its old rows are replaced).
#}
{% macro batches_to_monitor(batches_relation) -%}
    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        batches.n_claims
    from {{ batches_relation }} as batches
    {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as monitored
            where
                monitored.batch_id = batches.batch_id
                and monitored.scored_at = batches.scored_at
        )
    {%- endif %}
{%- endmacro %}
