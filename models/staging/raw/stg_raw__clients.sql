with

source as (

    select * from {{ source('raw', 'clients') }}

),

renamed as (

    select

        ----------  ids
        {{ raw_id('client_id') }} as client_id,

        ----------  text
        cast(name as {{ dbt.type_string() }}) as client_name,
        cast(timezone as {{ dbt.type_string() }}) as timezone,

        ----------  timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from renamed
