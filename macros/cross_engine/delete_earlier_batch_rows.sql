{#
    A rescored batch (each batch of the run) is replaced whole, even when it is now empty: delete+insert deletes only
    the keys present in the new rows, so fraud_scores then deletes the batch's rows scored
    before this run began (post-hook, in the model's transaction: a pre-hook would open the
    transaction before the Python model writes its rows from another cursor, and DuckDB's
    snapshot would not see them). Delta on Databricks; plain Spark (Parquet) cannot delete,
    and the local Spark check scores from scratch.
#}
{% macro delete_earlier_batch_rows(relation, batch_ids) -%}
    {{ return(adapter.dispatch('delete_earlier_batch_rows', 'claims_fraud')(relation, batch_ids)) }}
{%- endmacro %}

{% macro default__delete_earlier_batch_rows(relation, batch_ids) -%}
    delete from {{ relation }}
    where
        batch_id in (
            {%- for batch_id in batch_ids %}
                {{ sql_literal(batch_id) }}{{ ',' if not loop.last }}
            {%- endfor %}
        )
        and scored_at < cast({{ sql_literal(run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }} as timestamp)
{%- endmacro %}
