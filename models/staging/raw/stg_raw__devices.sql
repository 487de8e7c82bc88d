with

source as (

    select * from {{ source('raw', 'devices') }}

),

renamed as (

    select

        ----------  ids
        {{ raw_id('device_id') }} as device_id,
        {{ raw_id('client_id') }} as client_id,

        ----------  text
        cast(hostname as {{ dbt.type_string() }}) as hostname,
        cast(platform as {{ dbt.type_string() }}) as platform,

        ----------  timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from renamed
