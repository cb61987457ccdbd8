{#
    One row per rendering provider (NPI): billing-pattern signals compared with the provider's
    specialty. High-level E/M means em_level 4 or 5.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

provider_lines as (

    select
        rendering_npi,
        rendering_specialty,
        rendering_practice_state,
        count(distinct claim_id) as provider_claim_count,
        count(*) as provider_line_count,
        sum(case when em_level is not null then 1 else 0 end) as provider_em_line_count,
        sum(case when em_level >= 4 then 1 else 0 end) as provider_high_em_line_count,
        sum(case when has_modifier_59_or_25 then 1 else 0 end) as provider_modifier_59_25_line_count

    from valid_lines
    group by rendering_npi, rendering_specialty, rendering_practice_state

),

specialty_lines as (

    select
        rendering_specialty,
        sum(provider_em_line_count) as specialty_em_line_count,
        sum(provider_high_em_line_count) as specialty_high_em_line_count

    from provider_lines
    group by rendering_specialty

),

profile as (

    select
        provider_lines.rendering_npi,
        provider_lines.rendering_specialty,
        provider_lines.rendering_practice_state,
        provider_lines.provider_claim_count,
        provider_lines.provider_line_count,
        provider_lines.provider_em_line_count,
        provider_lines.provider_high_em_line_count,
        cast(provider_lines.provider_high_em_line_count as double)
        / nullif(provider_lines.provider_em_line_count, 0) as provider_high_em_share,
        cast(specialty_lines.specialty_high_em_line_count as double)
        / nullif(specialty_lines.specialty_em_line_count, 0) as specialty_high_em_share,
        cast(provider_lines.provider_modifier_59_25_line_count as double)
        / provider_lines.provider_line_count as provider_modifier_59_25_share

    from provider_lines
    inner join specialty_lines
        on provider_lines.rendering_specialty = specialty_lines.rendering_specialty

),

final as (

    select
        *,
        provider_high_em_share - specialty_high_em_share as provider_high_em_share_excess

    from profile

)

select * from final
