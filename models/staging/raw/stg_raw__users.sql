with

source as (

    select * from {{ source('raw', 'users') }}

),

renamed as (

    select

        ----------  ids
        {{ raw_id('user_id') }} as user_id,
        {{ raw_id('client_id') }} as client_id,

        ----------  text
        cast(email as {{ dbt.type_string() }}) as email,
        cast(display_name as {{ dbt.type_string() }}) as display_name,

        ----------  timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from renamed
