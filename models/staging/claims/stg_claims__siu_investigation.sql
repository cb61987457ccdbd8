{{ require_source_columns('claims', 'siu_investigation') }}

with

source as (

    select * from {{ source('claims', 'siu_investigation') }}

),

renamed as (

    select
        try_cast(claim_id as {{ dbt.type_string() }}) as claim_id,
        try_cast(investigation_closed_date as date) as investigation_closed_date,
        try_cast(outcome as {{ dbt.type_string() }}) as outcome

    from source

)

select * from renamed
