{#
    One row per protected attribute and group: the disparate impact of the @challenger's flags
    on every claim up to the end of its validation window (its training and validation windows,
    ml_challenger_scores), the population the first monitoring run of a new champion sees. The
    statistics are disparate_impact_by_group (macros/monitoring), the macro mon_disparate_impact
    applies to the scored batches: one definition for the promotion gate (`claims-fraud
    promote`, which fails on any group with status fail) and for monitoring.
#}
{%- set attributes = protected_attributes() %}

with

challenger as (

    select distinct
        model_name,
        model_version,
        run_id
    from {{ ref('ml_challenger_scores') }}

),

scored as (

    select
        {%- for attribute in attributes %}
            claims.{{ attribute }},
        {%- endfor %}
        scores.model_version,
        claims.rendering_npi as provider_cluster,
        scores.is_flagged
    from {{ ref('ml_challenger_scores') }} as scores
    left join {{ ref('fct_claim_features') }} as claims
        on scores.claim_id = claims.claim_id

),

group_rows as (

    {{ disparate_impact_by_group(
        scored='scored',
        key='model_version',
        attributes=attributes,
        thresholds=ref('monitoring_thresholds'),
        reference_groups=ref('monitoring_reference_groups'),
        cluster='provider_cluster',
    ) }}

)

select
    challenger.model_name,
    challenger.model_version,
    challenger.run_id,
    group_rows.attribute_name,
    group_rows.group_name,
    group_rows.n,
    group_rows.flagged,
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
    group_rows.is_significant,
    group_rows.p_outside_band,
    group_rows.p_outside_band_adjusted,
    group_rows.n_clusters,
    group_rows.design_effect,
    group_rows.is_significantly_outside_band,
    group_rows.status
from group_rows
inner join challenger
    on group_rows.model_version = challenger.model_version
