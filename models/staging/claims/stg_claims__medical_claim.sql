{{ require_source_columns('claims', 'medical_claim') }}

with

source as (

    select * from {{ source('claims', 'medical_claim') }}

),

renamed as (

    select
        -- keys
        try_cast(claim_id as {{ dbt.type_string() }}) as claim_id,
        try_cast(claim_line_number as integer) as claim_line_number,
        try_cast(person_id as {{ dbt.type_string() }}) as person_id,
        try_cast(member_id as {{ dbt.type_string() }}) as member_id,

        -- claim and line attributes
        try_cast(claim_type as {{ dbt.type_string() }}) as claim_type,
        try_cast(payer as {{ dbt.type_string() }}) as payer,
        try_cast(plan as {{ dbt.type_string() }}) as plan,
        try_cast(place_of_service_code as {{ dbt.type_string() }}) as place_of_service_code,
        try_cast(bill_type_code as {{ dbt.type_string() }}) as bill_type_code,
        try_cast(revenue_center_code as {{ dbt.type_string() }}) as revenue_center_code,
        try_cast(hcpcs_code as {{ dbt.type_string() }}) as hcpcs_code,
        try_cast(hcpcs_modifier_1 as {{ dbt.type_string() }}) as hcpcs_modifier_1,
        try_cast(hcpcs_modifier_2 as {{ dbt.type_string() }}) as hcpcs_modifier_2,
        try_cast(service_unit_quantity as double) as service_unit_quantity,

        -- providers
        try_cast(rendering_npi as {{ dbt.type_string() }}) as rendering_npi,
        try_cast(billing_npi as {{ dbt.type_string() }}) as billing_npi,
        try_cast(facility_npi as {{ dbt.type_string() }}) as facility_npi,

        -- diagnoses
        try_cast(diagnosis_code_type as {{ dbt.type_string() }}) as diagnosis_code_type,
        try_cast(diagnosis_code_1 as {{ dbt.type_string() }}) as diagnosis_code_1,
        try_cast(diagnosis_code_2 as {{ dbt.type_string() }}) as diagnosis_code_2,
        try_cast(diagnosis_code_3 as {{ dbt.type_string() }}) as diagnosis_code_3,

        -- dates
        try_cast(claim_start_date as date) as claim_start_date,
        try_cast(claim_end_date as date) as claim_end_date,
        try_cast(claim_line_start_date as date) as claim_line_start_date,
        try_cast(claim_line_end_date as date) as claim_line_end_date,
        try_cast(paid_date as date) as paid_date,

        -- money (US dollars)
        try_cast(paid_amount as decimal(12, 2)) as paid_amount,
        try_cast(allowed_amount as decimal(12, 2)) as allowed_amount,
        try_cast(charge_amount as decimal(12, 2)) as charge_amount,

        -- lineage
        try_cast(data_source as {{ dbt.type_string() }}) as data_source,
        try_cast(ingest_datetime as timestamp) as ingested_at,

        -- raw columns whose value is there but did not cast above (same types as above)
        {{ unreadable_columns([
            ['claim_line_number', 'integer'],
            ['service_unit_quantity', 'double'],
            ['claim_start_date', 'date'],
            ['claim_end_date', 'date'],
            ['claim_line_start_date', 'date'],
            ['claim_line_end_date', 'date'],
            ['paid_date', 'date'],
            ['paid_amount', 'decimal(12, 2)'],
            ['allowed_amount', 'decimal(12, 2)'],
            ['charge_amount', 'decimal(12, 2)'],
            ['ingest_datetime', 'timestamp'],
        ]) }} as unreadable_columns

    from source

)

select * from renamed
