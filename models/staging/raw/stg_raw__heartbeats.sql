with

source as (

    select * from {{ source('raw', 'heartbeats') }}

),

renamed as (

    select

        ----------  ids (empty strings count as missing)
        {{ raw_id('heartbeat_id') }} as heartbeat_id,
        {{ raw_id('client_id') }} as client_id,
        {{ raw_id('user_id') }} as user_id,
        {{ raw_id('device_id') }} as device_id,

        ----------  timestamps (UTC)
        cast(generated_at_utc as {{ dbt.type_timestamp() }}) as generated_at_utc,
        cast(received_at_utc as {{ dbt.type_timestamp() }}) as received_at_utc,

        ----------  counts: kept as delivered (double precision); validity is decided downstream
        {%- for count in activity_count_columns() %}
        cast({{ count }} as {{ type_double() }}) as {{ count }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}

    from source

)

select * from renamed
