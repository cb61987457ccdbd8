{#
    The valid claim lines: every checked line with no rejection reason, enriched with the
    procedure reference and the rendering provider's specialty. Feature models read this.
#}

with

checked_lines as (

    select * from {{ ref('int_claim_lines_checked') }}

),

procedure_codes as (

    select * from {{ ref('ref_procedure_codes') }}

),

providers as (

    select * from {{ ref('stg_claims__provider') }}

),

valid_lines as (

    select *
    from checked_lines
    where not is_rejected

),

enriched as (

    select
        valid_lines.claim_line_sk,
        valid_lines.claim_id,
        valid_lines.claim_line_number,
        valid_lines.claim_type,
        valid_lines.person_id,
        valid_lines.member_id,
        valid_lines.payer,
        valid_lines.plan,
        valid_lines.claim_start_date,
        valid_lines.claim_end_date,
        valid_lines.claim_line_start_date,
        valid_lines.claim_line_end_date,
        valid_lines.paid_date,
        valid_lines.place_of_service_code,
        valid_lines.bill_type_code,
        valid_lines.revenue_center_code,
        valid_lines.hcpcs_code,
        valid_lines.hcpcs_modifier_1,
        valid_lines.hcpcs_modifier_2,
        valid_lines.service_unit_quantity,
        valid_lines.rendering_npi,
        valid_lines.billing_npi,
        valid_lines.facility_npi,
        valid_lines.diagnosis_code_1,
        valid_lines.charge_amount,
        valid_lines.allowed_amount,
        valid_lines.paid_amount,
        valid_lines.ingested_at,
        procedure_codes.service_category,
        procedure_codes.em_level,
        procedure_codes.typical_minutes,
        procedure_codes.max_units_per_line,
        providers.provider_specialty as rendering_specialty,
        providers.practice_state as rendering_practice_state,
        coalesce(
            valid_lines.hcpcs_modifier_1 in ('59', '25')
            or valid_lines.hcpcs_modifier_2 in ('59', '25'),
            false
        ) as has_modifier_59_or_25,
        coalesce(procedure_codes.typical_minutes, 0)
        * valid_lines.service_unit_quantity as billed_minutes

    from valid_lines
    inner join procedure_codes
        on valid_lines.hcpcs_code = procedure_codes.hcpcs_code
    inner join providers
        on valid_lines.rendering_npi = providers.npi

)

select * from enriched
