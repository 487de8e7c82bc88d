{#- One row per user_id: raw entity tables may repeat an id (re-delivered files).
    The earliest-created row wins, so validation and the dims agree on one owner. -#}
with

users as (

    {{ keep_first_per_key(ref('stg_raw__users'), 'user_id', 'created_at asc nulls last, client_id asc nulls last') }}

)

select
    user_id,
    client_id,
    email,
    display_name,
    created_at
from users
