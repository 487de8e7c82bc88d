with

source as (

    select * from {{ source('raw', 'heartbeats') }}

),

renamed as (

    select

        ----------  ids (empty strings count as missing)
        nullif(cast(heartbeat_id as {{ dbt.type_string() }}), '') as heartbeat_id,
        nullif(cast(client_id as {{ dbt.type_string() }}), '') as client_id,
        nullif(cast(user_id as {{ dbt.type_string() }}), '') as user_id,
        nullif(cast(device_id as {{ dbt.type_string() }}), '') as device_id,

        ----------  timestamps (UTC)
        cast(generated_at_utc as {{ dbt.type_timestamp() }}) as generated_at_utc,
        cast(received_at_utc as {{ dbt.type_timestamp() }}) as received_at_utc,

        ----------  counts: kept as delivered (double precision); validity is decided downstream
        cast(chrome_activity_count as double precision) as chrome_activity_count,
        cast(edge_activity_count as double precision) as edge_activity_count,
        cast(firefox_activity_count as double precision) as firefox_activity_count,
        cast(desktop_activity_count as double precision) as desktop_activity_count,
        cast(web_accessibility_activity_count as double precision)
            as web_accessibility_activity_count,
        cast(total_activity_count as double precision) as total_activity_count

    from source

)

select * from renamed
