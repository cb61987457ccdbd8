{{
    config(
        materialized='incremental',
        unique_key='claim_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

{%- set lookback_watermark = dbt.dateadd('day', -1 * checked_var('feature_lookback_days'), 'max(ingested_at)') -%}

{#
    One row per valid claim: the signals SIU analysts use, as model inputs, plus identifiers and
    the protected attributes that monitoring needs (marked in the YAML as not model inputs).
    Point in time: provider, peer and member features use only claims of earlier service dates
    (the provider's day totals of billed minutes use that day's claims; a duplicate is a claim
    ingested after the first one billing the service), so a claim's features are the ones it
    would have had when it arrived, and training sees no future.
    Incremental: a run builds every valid claim that has no row here yet (a first delivery
    after an empty one, a claim arriving late with an old ingested_at) and recomputes the claims
    ingested since the newest claim already here minus a lookback (var feature_lookback_days:
    late lines, member windows), replacing them by claim_id. The singular test
    assert_every_valid_claim_has_one_feature_row holds the result to that.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

peer_stats as (

    select * from {{ ref('int_procedure_peer_stats') }}

),

provider_profile as (

    select * from {{ ref('int_provider_profile') }}

),

provider_shared_members as (

    select * from {{ ref('int_provider_shared_members') }}

),

provider_network_partners as (

    select * from {{ ref('int_provider_network_partners') }}

),

provider_daily_minutes as (

    select * from {{ ref('int_provider_daily_minutes') }}

),

duplicate_services as (

    select * from {{ ref('int_duplicate_services') }}

),

member_history as (

    select * from {{ ref('int_member_claim_history') }}

),

provider_community as (

    select * from {{ ref('int_provider_community') }}

),

claim_network as (

    select * from {{ ref('int_claim_provider_network') }}

),

member_profile as (

    select * from {{ ref('int_member_profile') }}

),

valid_claims as (

    select
        claim_id,
        max(ingested_at) as ingested_at
    from valid_lines
    group by claim_id

),

claim_ids_to_build as (

    select claim_id
    from valid_claims
    {% if is_incremental() %}
        where
            not exists (
                select 1
                from {{ this }} as built
                where built.claim_id = valid_claims.claim_id
            )
            or ingested_at >= (select {{ lookback_watermark }} from {{ this }})
    {% endif %}

),

lines as (

    select
        valid_lines.*,
        provider_daily_minutes.billed_minutes as provider_day_billed_minutes,
        case
            when peer_stats.peer_line_count >= 30 and peer_stats.stddev_log_charge > 0.000001
                then
                    (ln(valid_lines.charge_amount) - peer_stats.mean_log_charge)
                    / peer_stats.stddev_log_charge
        end as charge_peer_zscore,
        duplicate_services.claim_id is not null as is_duplicate_service

    from valid_lines
    inner join claim_ids_to_build
        on valid_lines.claim_id = claim_ids_to_build.claim_id
    left join peer_stats
        on
            valid_lines.rendering_specialty = peer_stats.rendering_specialty
            and valid_lines.hcpcs_code = peer_stats.hcpcs_code
            and valid_lines.claim_line_start_date = peer_stats.service_date
    left join provider_daily_minutes
        on
            valid_lines.rendering_npi = provider_daily_minutes.rendering_npi
            and valid_lines.claim_line_start_date = provider_daily_minutes.service_date
    left join duplicate_services
        on
            valid_lines.claim_id = duplicate_services.claim_id
            and valid_lines.person_id = duplicate_services.person_id
            and valid_lines.rendering_npi = duplicate_services.rendering_npi
            and valid_lines.hcpcs_code = duplicate_services.hcpcs_code
            and valid_lines.claim_line_start_date = duplicate_services.service_date

),

claims as (

    select  -- noqa: ST06
        claim_id,
        cast(sum(charge_amount) as decimal(18, 2)) as total_charge_amount,
        cast(sum(allowed_amount) as decimal(18, 2)) as total_allowed_amount,
        cast(sum(paid_amount) as decimal(18, 2)) as total_paid_amount,
        cast(sum(service_unit_quantity) as double) as total_service_units,
        max(cast(service_unit_quantity as double) / nullif(max_units_per_line, 0))
            as max_units_to_code_limit,
        cast(coalesce(max(em_level), 0) as integer) as max_em_level,
        cast(max(provider_day_billed_minutes) as double) as provider_max_day_billed_minutes,
        count(*) as line_count,
        min(person_id) as person_id,
        min_by(rendering_npi, claim_line_number) as rendering_npi,
        min_by(billing_npi, claim_line_number) as billing_npi,
        min_by(rendering_specialty, claim_line_number) as rendering_specialty,
        min(claim_type) as claim_type,
        min(claim_start_date) as claim_start_date,
        max(claim_end_date) as claim_end_date,
        max(paid_date) as paid_date,
        max(ingested_at) as ingested_at,
        max(charge_peer_zscore) as max_charge_peer_zscore,
        avg(case when has_modifier_59_or_25 then cast(1 as double) else cast(0 as double) end)
            as modifier_59_25_line_share,
        max(case when is_duplicate_service then 1 else 0 end) = 1 as has_duplicate_service

    from lines
    group by claim_id

),

features as (

    select
        -- identifiers (not model inputs)
        claims.claim_id,
        claims.person_id,
        claims.rendering_npi,
        claims.billing_npi,
        claims.rendering_specialty,
        claims.claim_type,
        claims.claim_start_date,
        claims.claim_end_date,
        claims.paid_date,
        claims.ingested_at,

        -- money and volume
        claims.total_charge_amount,
        claims.total_allowed_amount,
        claims.total_paid_amount,
        cast(claims.total_allowed_amount as double)
        / nullif(cast(claims.total_charge_amount as double), 0) as allowed_to_charge_ratio,
        claims.total_service_units,
        claims.max_units_to_code_limit,
        claims.line_count,

        -- coding patterns
        claims.max_em_level,
        claims.max_charge_peer_zscore,
        claims.modifier_59_25_line_share,
        claims.has_duplicate_service,

        -- provider patterns
        provider_profile.provider_high_em_share,
        provider_profile.provider_high_em_share_excess,
        provider_profile.provider_high_em_share_zscore,
        provider_profile.provider_modifier_59_25_share,
        claims.provider_max_day_billed_minutes,
        claims.provider_max_day_billed_minutes > {{ checked_var('minutes_in_a_day') }}
            as is_provider_impossible_day,
        provider_shared_members.provider_shared_member_share,
        claim_network.provider_pair_shared_member_share,
        provider_community.provider_community_share,
        coalesce(provider_network_partners.provider_network_partners, 0) as provider_network_partners,
        claim_network.is_new_patient,

        -- member patterns
        member_history.member_claims_prior_30d,
        member_history.member_claims_prior_90d,
        claim_network.member_new_providers_prior_30d,
        coalesce(member_profile.member_state <> provider_profile.rendering_practice_state, false)
            as is_out_of_state_provider,

        -- timing
        {{ is_weekend('claims.claim_start_date') }} as is_weekend_service,
        cast(
            {{ dbt.datediff('claims.claim_end_date', 'claims.paid_date', 'day') }}
            as integer
        ) as days_to_payment,

        -- protected attributes (monitoring only, never model inputs)
        coalesce(member_profile.gender, 'unknown') as gender,
        {{ age_group('member_profile.birth_date', 'claims.claim_start_date') }} as age_group,
        coalesce(member_profile.member_region, 'Unknown') as member_region

    from claims
    left join provider_profile
        on
            claims.rendering_npi = provider_profile.rendering_npi
            and claims.claim_start_date = provider_profile.as_of_date
    left join provider_shared_members
        on
            claims.rendering_npi = provider_shared_members.rendering_npi
            and claims.claim_start_date = provider_shared_members.as_of_date
    left join provider_network_partners
        on
            claims.rendering_npi = provider_network_partners.rendering_npi
            and claims.claim_start_date = provider_network_partners.as_of_date
    left join member_history
        on claims.claim_id = member_history.claim_id
    left join claim_network
        on claims.claim_id = claim_network.claim_id
    left join provider_community
        on
            claims.rendering_npi = provider_community.rendering_npi
            and claim_network.period_number = provider_community.period_number
    left join member_profile
        on claims.person_id = member_profile.person_id

)

select * from features
