{{ require_source_columns('claims', 'eligibility') }}

with

source as (

    select * from {{ source('claims', 'eligibility') }}

),

renamed as (

    select
        try_cast(person_id as {{ dbt.type_string() }}) as person_id,
        try_cast(member_id as {{ dbt.type_string() }}) as member_id,
        try_cast(gender as {{ dbt.type_string() }}) as gender,
        try_cast(race as {{ dbt.type_string() }}) as race,
        try_cast(birth_date as date) as birth_date,
        try_cast(death_date as date) as death_date,
        try_cast(state as {{ dbt.type_string() }}) as state,
        try_cast(zip_code as {{ dbt.type_string() }}) as zip_code,
        try_cast(enrollment_start_date as date) as enrollment_start_date,
        try_cast(enrollment_end_date as date) as enrollment_end_date,
        try_cast(payer as {{ dbt.type_string() }}) as payer,
        try_cast(plan as {{ dbt.type_string() }}) as plan

    from source

)

select * from renamed
