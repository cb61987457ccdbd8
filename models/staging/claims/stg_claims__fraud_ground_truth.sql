{#
    The synthetic ground truth, for evaluation only: ml_training_runs computes its gt_* metrics
    from it; it is never joined into validation or features, and the `train` selector builds
    it, not `features`. The raw table exists only where the demo generator wrote it, so it is
    read only when the training run evaluates against it: var evaluate_ground_truth, by
    default true on DuckDB and false elsewhere (the default of ml_training_runs' meta).
    Otherwise the model has no rows and the same columns. source() is called either way, so
    the lineage is the same on every target.
#}
{%- set raw_table = source('claims', 'fraud_ground_truth') -%}
{%- set reads_ground_truth = checked_var('evaluate_ground_truth', target.type == 'duckdb') -%}
{%- if reads_ground_truth -%}
    {{ require_source_columns('claims', 'fraud_ground_truth') }}
{%- endif %}

with

source as (

    {%- if reads_ground_truth %}

        select * from {{ raw_table }}

    {%- else %}

        select
            cast(null as {{ dbt.type_string() }}) as claim_id,
            cast(null as boolean) as is_fraud,
            cast(null as {{ dbt.type_string() }}) as scheme
        limit 0

    {%- endif %}

),

renamed as (

    select
        try_cast(claim_id as {{ dbt.type_string() }}) as claim_id,
        try_cast(is_fraud as boolean) as is_fraud,
        try_cast(scheme as {{ dbt.type_string() }}) as scheme

    from source

)

select * from renamed
