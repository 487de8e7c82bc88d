{#- One row per client_id: raw entity tables may repeat an id (re-delivered files).
    The earliest-created row wins, so validation and the dims agree on one owner. -#}
with

clients as (

    {{ keep_first_per_key(ref('stg_raw__clients'), 'client_id', 'created_at asc nulls last, client_id asc nulls last') }}

)

select
    client_id,
    client_name,
    timezone,
    created_at
from clients
