{{ require_source_columns('claims', 'provider') }}

with

source as (

    select * from {{ source('claims', 'provider') }}

),

renamed as (

    select
        try_cast(npi as {{ dbt.type_string() }}) as npi,
        try_cast(provider_specialty as {{ dbt.type_string() }}) as provider_specialty,
        try_cast(practice_state as {{ dbt.type_string() }}) as practice_state,
        try_cast(entity_type as {{ dbt.type_string() }}) as entity_type

    from source

)

select * from renamed
