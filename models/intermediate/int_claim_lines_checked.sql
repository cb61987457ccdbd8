{#
    Every raw claim line with every validation rule evaluated on it.
    Rules are columns, not filters: nothing is dropped here. The two models downstream split
    the rows into valid lines and the quarantine, so each line ends in exactly one of them.
#}

with

claim_lines as (

    select * from {{ ref('stg_claims__medical_claim') }}

),

eligibility as (

    select * from {{ ref('stg_claims__eligibility') }}

),

providers as (

    select * from {{ ref('stg_claims__provider') }}

),

procedure_codes as (

    select * from {{ ref('ref_procedure_codes') }}

),

numbered_lines as (

    select
        *,
        -- the earliest ingested copy of a (claim_id, claim_line_number) is occurrence 1
        -- (bigint on every engine: Spark's row_number is an int)
        cast(row_number() over (
            partition by claim_id, claim_line_number
            order by ingested_at
        ) as bigint) as line_occurrence

    from claim_lines

),

keyed_lines as (

    select
        {{ surrogate_key(['claim_id', 'claim_line_number', 'line_occurrence']) }} as claim_line_sk,
        *

    from numbered_lines

),

members as (

    select
        person_id,
        max(death_date) as death_date

    from eligibility
    where person_id is not null
    group by person_id

),

covered_lines as (

    select distinct keyed_lines.claim_line_sk

    from keyed_lines
    inner join eligibility
        on
            keyed_lines.person_id = eligibility.person_id
            and keyed_lines.claim_line_start_date >= eligibility.enrollment_start_date
            and keyed_lines.claim_line_start_date <= eligibility.enrollment_end_date

),

provider_npis as (

    select distinct npi
    from providers
    where npi is not null

),

checked as (

    select
        keyed_lines.claim_line_sk,
        keyed_lines.line_occurrence,
        keyed_lines.claim_id,
        keyed_lines.claim_line_number,
        keyed_lines.person_id,
        keyed_lines.member_id,
        keyed_lines.claim_type,
        keyed_lines.payer,
        keyed_lines.plan,
        keyed_lines.place_of_service_code,
        keyed_lines.bill_type_code,
        keyed_lines.revenue_center_code,
        keyed_lines.hcpcs_code,
        keyed_lines.hcpcs_modifier_1,
        keyed_lines.hcpcs_modifier_2,
        keyed_lines.service_unit_quantity,
        keyed_lines.rendering_npi,
        keyed_lines.billing_npi,
        keyed_lines.facility_npi,
        keyed_lines.diagnosis_code_type,
        keyed_lines.diagnosis_code_1,
        keyed_lines.diagnosis_code_2,
        keyed_lines.diagnosis_code_3,
        keyed_lines.claim_start_date,
        keyed_lines.claim_end_date,
        keyed_lines.claim_line_start_date,
        keyed_lines.claim_line_end_date,
        keyed_lines.paid_date,
        keyed_lines.paid_amount,
        keyed_lines.allowed_amount,
        keyed_lines.charge_amount,
        keyed_lines.data_source,
        keyed_lines.ingested_at,
        keyed_lines.unreadable_columns,

        -- A value that is there but unreadable (null after try_cast) is its own reason,
        -- unreadable_value; the rules below count only readable or truly missing values.
        keyed_lines.unreadable_columns is not null as has_unreadable_value,

        (
            keyed_lines.claim_id is null
            or (
                keyed_lines.claim_line_number is null
                and not {{ lists_column('keyed_lines.unreadable_columns', 'claim_line_number') }}
            )
            or keyed_lines.person_id is null
        ) as has_null_key,

        (
            keyed_lines.claim_id is not null
            and keyed_lines.claim_line_number is not null
            and keyed_lines.line_occurrence > 1
        ) as is_duplicate_line,

        (
            (
                keyed_lines.claim_start_date is null
                and not {{ lists_column('keyed_lines.unreadable_columns', 'claim_start_date') }}
            )
            or (
                keyed_lines.claim_line_start_date is null
                and not {{ lists_column('keyed_lines.unreadable_columns', 'claim_line_start_date') }}
            )
            or (
                keyed_lines.ingested_at is null
                and not {{ lists_column('keyed_lines.unreadable_columns', 'ingest_datetime') }}
            )
        ) as has_missing_required_date,

        -- an amount is non-positive when zero, negative or missing (null but not unreadable)
        (
            coalesce(
                keyed_lines.charge_amount <= 0,
                not {{ lists_column('keyed_lines.unreadable_columns', 'charge_amount') }}
            )
            or coalesce(
                keyed_lines.allowed_amount <= 0,
                not {{ lists_column('keyed_lines.unreadable_columns', 'allowed_amount') }}
            )
            or coalesce(
                keyed_lines.paid_amount <= 0,
                not {{ lists_column('keyed_lines.unreadable_columns', 'paid_amount') }}
            )
        ) as has_non_positive_amount,

        coalesce(
            keyed_lines.paid_amount > keyed_lines.allowed_amount
            or keyed_lines.allowed_amount > keyed_lines.charge_amount,
            false
        ) as has_inconsistent_amounts,

        coalesce(
            keyed_lines.claim_end_date < keyed_lines.claim_start_date
            or keyed_lines.claim_line_end_date < keyed_lines.claim_line_start_date,
            false
        ) as has_end_before_start,

        coalesce(
            keyed_lines.claim_start_date > cast(keyed_lines.ingested_at as date)
            or keyed_lines.claim_end_date > cast(keyed_lines.ingested_at as date)
            or keyed_lines.claim_line_start_date > cast(keyed_lines.ingested_at as date)
            or keyed_lines.claim_line_end_date > cast(keyed_lines.ingested_at as date)
            or keyed_lines.paid_date > cast(keyed_lines.ingested_at as date),
            false
        ) as has_future_date,

        (
            members.person_id is not null
            and keyed_lines.claim_line_start_date is not null
            and covered_lines.claim_line_sk is null
        ) as is_outside_enrollment,

        coalesce(
            keyed_lines.claim_line_start_date > members.death_date,
            false
        ) as is_after_death,

        (
            keyed_lines.person_id is not null
            and members.person_id is null
        ) as has_unknown_member,

        (
            rendering_npis.npi is null
            or billing_npis.npi is null
            or (keyed_lines.facility_npi is not null and facility_npis.npi is null)
        ) as has_unknown_provider,

        procedure_codes.hcpcs_code is null as has_unknown_procedure,

        -- units are invalid when zero, negative, implausibly many or missing (not unreadable)
        coalesce(
            keyed_lines.service_unit_quantity <= 0
            or keyed_lines.service_unit_quantity > {{ checked_var('max_plausible_units') }},
            not {{ lists_column('keyed_lines.unreadable_columns', 'service_unit_quantity') }}
        ) as has_invalid_units

    from keyed_lines
    left join members
        on keyed_lines.person_id = members.person_id
    left join covered_lines
        on keyed_lines.claim_line_sk = covered_lines.claim_line_sk
    left join provider_npis as rendering_npis
        on keyed_lines.rendering_npi = rendering_npis.npi
    left join provider_npis as billing_npis
        on keyed_lines.billing_npi = billing_npis.npi
    left join provider_npis as facility_npis
        on keyed_lines.facility_npi = facility_npis.npi
    left join procedure_codes
        on keyed_lines.hcpcs_code = procedure_codes.hcpcs_code

),

with_reasons as (

    select
        *,
        concat_ws(
            ',',
            case when has_null_key then 'null_key' end,
            case when is_duplicate_line then 'duplicate_line' end,
            case when has_unreadable_value then 'unreadable_value' end,
            case when has_missing_required_date then 'missing_required_date' end,
            case when has_non_positive_amount then 'non_positive_amount' end,
            case when has_inconsistent_amounts then 'amount_inconsistent' end,
            case when has_end_before_start then 'end_before_start' end,
            case when has_future_date then 'future_date' end,
            case when is_outside_enrollment then 'outside_enrollment' end,
            case when is_after_death then 'after_death' end,
            case when has_unknown_member then 'unknown_member' end,
            case when has_unknown_provider then 'unknown_provider' end,
            case when has_unknown_procedure then 'unknown_procedure' end,
            case when has_invalid_units then 'invalid_units' end
        ) as rejection_reasons,
        (
            cast(has_null_key as integer)
            + cast(is_duplicate_line as integer)
            + cast(has_unreadable_value as integer)
            + cast(has_missing_required_date as integer)
            + cast(has_non_positive_amount as integer)
            + cast(has_inconsistent_amounts as integer)
            + cast(has_end_before_start as integer)
            + cast(has_future_date as integer)
            + cast(is_outside_enrollment as integer)
            + cast(is_after_death as integer)
            + cast(has_unknown_member as integer)
            + cast(has_unknown_provider as integer)
            + cast(has_unknown_procedure as integer)
            + cast(has_invalid_units as integer)
        ) as rejection_reason_count

    from checked

),

final as (

    select
        *,
        rejection_reason_count > 0 as is_rejected

    from with_reasons

)

select * from final
