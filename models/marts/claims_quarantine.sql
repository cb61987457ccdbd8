{#
    The quarantine: every raw claim line that failed at least one validation rule, with all
    the reasons that apply. Nothing is lost: valid lines plus this table equal the raw feed.
#}

with

checked_lines as (

    select * from {{ ref('int_claim_lines_checked') }}

),

quarantined as (

    select
        claim_line_sk,
        claim_id,
        claim_line_number,
        line_occurrence,
        person_id,
        rendering_npi,
        billing_npi,
        facility_npi,
        hcpcs_code,
        service_unit_quantity,
        claim_start_date,
        claim_end_date,
        claim_line_start_date,
        claim_line_end_date,
        paid_date,
        charge_amount,
        allowed_amount,
        paid_amount,
        data_source,
        ingested_at,
        rejection_reasons,
        rejection_reason_count,
        unreadable_columns,
        has_null_key,
        is_duplicate_line,
        has_unreadable_value,
        has_missing_required_date,
        has_non_positive_amount,
        has_inconsistent_amounts,
        has_end_before_start,
        has_future_date,
        is_outside_enrollment,
        is_after_death,
        has_unknown_member,
        has_unknown_provider,
        has_unknown_procedure,
        has_invalid_units

    from checked_lines
    where is_rejected

)

select * from quarantined
