{#- One row per device_id: raw entity tables may repeat an id (re-delivered files).
    The earliest-created row wins, so validation and the dims agree on one owner. -#}
with

devices as (

    {{ keep_first_per_key(ref('stg_raw__devices'), 'device_id', 'created_at asc nulls last, client_id asc nulls last') }}

)

select
    device_id,
    client_id,
    hostname,
    platform,
    created_at
from devices
