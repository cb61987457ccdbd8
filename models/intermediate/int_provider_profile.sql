{#
    One row per rendering provider (NPI) and claim start date on which the provider has claims:
    the provider's recent billing pattern, compared with its specialty's. Point in time and
    trailing: every count uses only lines of claims that started in the var
    provider_history_days (180) days before that day, so a claim's provider features do not
    know the provider's later claims (fct_claim_features joins on the claim's rendering NPI and
    start date), and they describe the provider as it bills now, not averaged over all its
    history (shares over all history narrow as history grows, so they drift against any fixed
    monitoring reference). High-level E/M means em_level 4 or 5.
    provider_high_em_share_zscore weighs the excess by its evidence: how many standard errors
    (binomial, at the specialty's share) the provider's share lies above its specialty's. A
    small practice's share swings by chance; a large one billing a few points above its peers on
    hundreds of visits does not (the one-proportion z statistic of comparative billing reports).
    Shares need evidence: they are null until the provider has var provider_min_history (20)
    earlier E/M lines (E/M shares) or lines (modifier share), and the specialty's until it has
    as many E/M lines, pooled over its providers.
#}
{%- set history_days = checked_var('provider_history_days') | int %}
{%- if history_days < 1 %}
    {{ exceptions.raise_compiler_error("var provider_history_days must be at least 1 (days of history), got " ~ history_days) }}
{%- endif %}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

provider_days as (

    select
        rendering_npi,
        claim_start_date as as_of_date,
        {{ day_number('claim_start_date') }} as day_number,
        min(rendering_specialty) as rendering_specialty,
        min(rendering_practice_state) as rendering_practice_state,
        count(distinct claim_id) as day_claim_count,
        count(*) as day_line_count,
        sum(case when em_level is not null then 1 else 0 end) as day_em_line_count,
        sum(case when em_level >= 4 then 1 else 0 end) as day_high_em_line_count,
        sum(case when has_modifier_59_or_25 then 1 else 0 end) as day_modifier_59_25_line_count

    from valid_lines
    group by rendering_npi, claim_start_date, {{ day_number('claim_start_date') }}

),

provider_prior as (

    select
        rendering_npi,
        as_of_date,
        rendering_specialty,
        rendering_practice_state,
        coalesce(sum(day_claim_count) over provider_before, 0) as provider_claim_count,
        coalesce(sum(day_line_count) over provider_before, 0) as provider_line_count,
        coalesce(sum(day_em_line_count) over provider_before, 0) as provider_em_line_count,
        coalesce(sum(day_high_em_line_count) over provider_before, 0)
            as provider_high_em_line_count,
        coalesce(sum(day_modifier_59_25_line_count) over provider_before, 0)
            as provider_modifier_59_25_line_count

    from provider_days
    window provider_before as (
        partition by rendering_npi
        order by day_number
        range between {{ history_days }} preceding and 1 preceding
    )

),

specialty_days as (

    select
        rendering_specialty,
        as_of_date,
        day_number,
        sum(day_em_line_count) as day_em_line_count,
        sum(day_high_em_line_count) as day_high_em_line_count

    from provider_days
    group by rendering_specialty, as_of_date, day_number

),

specialty_prior as (

    select
        rendering_specialty,
        as_of_date,
        coalesce(sum(day_em_line_count) over specialty_before, 0) as specialty_em_line_count,
        coalesce(sum(day_high_em_line_count) over specialty_before, 0)
            as specialty_high_em_line_count

    from specialty_days
    window specialty_before as (
        partition by rendering_specialty
        order by day_number
        range between {{ history_days }} preceding and 1 preceding
    )

),

profile as (

    select
        provider_prior.rendering_npi,
        provider_prior.as_of_date,
        provider_prior.rendering_specialty,
        provider_prior.rendering_practice_state,
        provider_prior.provider_claim_count,
        provider_prior.provider_line_count,
        provider_prior.provider_em_line_count,
        provider_prior.provider_high_em_line_count,
        case
            when provider_prior.provider_em_line_count >= {{ checked_var('provider_min_history') }}
                then
                    cast(provider_prior.provider_high_em_line_count as double)
                    / provider_prior.provider_em_line_count
        end as provider_high_em_share,
        case
            when specialty_prior.specialty_em_line_count >= {{ checked_var('provider_min_history') }}
                then
                    cast(specialty_prior.specialty_high_em_line_count as double)
                    / specialty_prior.specialty_em_line_count
        end as specialty_high_em_share,
        case
            when provider_prior.provider_line_count >= {{ checked_var('provider_min_history') }}
                then
                    cast(provider_prior.provider_modifier_59_25_line_count as double)
                    / provider_prior.provider_line_count
        end as provider_modifier_59_25_share

    from provider_prior
    inner join specialty_prior
        on
            provider_prior.rendering_specialty = specialty_prior.rendering_specialty
            and provider_prior.as_of_date = specialty_prior.as_of_date

),

final as (

    select
        *,
        provider_high_em_share - specialty_high_em_share as provider_high_em_share_excess,
        case
            when
                provider_high_em_share is not null
                and provider_em_line_count > 0
                and specialty_high_em_share > 0
                and specialty_high_em_share < 1
                then
                    (provider_high_em_share - specialty_high_em_share)
                    / sqrt(
                        specialty_high_em_share * (1 - specialty_high_em_share)
                        / provider_em_line_count
                    )
        end as provider_high_em_share_zscore

    from profile

)

select * from final
