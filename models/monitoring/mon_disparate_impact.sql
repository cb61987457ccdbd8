{{
    config(
        materialized='incremental',
        unique_key='batch_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#
    One row per batch, protected attribute and group: the group's flag rate against the
    reference group's (monitoring_reference_groups, else the largest group; ties: the
    alphabetically first), the ratio, its significance tests and the status. The statistics
    are the macro disparate_impact_by_group (macros/monitoring), which the promotion gate's
    ml_challenger_disparate_impact applies too. An empty batch gets one insufficient_data row
    per attribute, never a silent pass.
#}
{%- set attributes = protected_attributes() %}

with

batches as (

    {{ batches_to_monitor(ref('mon_batches')) }}

),

scored as (

    select
        {%- for attribute in attributes %}
            claims.{{ attribute }},
        {%- endfor %}
        scores.batch_id,
        claims.rendering_npi as provider_cluster,
        scores.is_flagged
    from {{ ref('fraud_scores') }} as scores
    inner join batches
        on scores.batch_id = batches.batch_id
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id

),

group_rows as (

    {{ disparate_impact_by_group(
        scored='scored',
        key='batch_id',
        attributes=attributes,
        thresholds=ref('monitoring_thresholds'),
        reference_groups=ref('monitoring_reference_groups'),
        cluster='provider_cluster',
    ) }}

),

attributes as (

    {%- for attribute in attributes %}
        select {{ sql_literal(attribute) }} as attribute_name
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

-- an empty batch still gets one row per attribute, insufficient_data, never a silent pass
select
    batches.batch_id,
    batches.model_version,
    batches.scored_at,
    attributes.attribute_name,
    group_rows.group_name,
    group_rows.flag_rate,
    group_rows.reference_group,
    group_rows.reference_group_source,
    group_rows.reference_n,
    group_rows.reference_flagged,
    group_rows.reference_flag_rate,
    group_rows.disparate_impact,
    group_rows.not_flagged_ratio,
    group_rows.z,
    group_rows.p_value,
    group_rows.p_adjusted,
    group_rows.ci_low,
    group_rows.ci_high,
    group_rows.min_expected_cell,
    group_rows.p_outside_band,
    group_rows.p_outside_band_adjusted,
    group_rows.n_clusters,
    group_rows.design_effect,
    coalesce(group_rows.n, 0) as n,
    coalesce(group_rows.flagged, 0) as flagged,
    coalesce(group_rows.is_significant, false) as is_significant,
    coalesce(group_rows.is_significantly_outside_band, false) as is_significantly_outside_band,
    coalesce(group_rows.status, 'insufficient_data') as status
from batches
cross join attributes
left join group_rows
    on
        batches.batch_id = group_rows.batch_id
        and attributes.attribute_name = group_rows.attribute_name
