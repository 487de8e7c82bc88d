{#- One row per user_id: raw entity tables may repeat an id (re-delivered files).
    `daybook load` replaces an entity row by id, so raw normally holds one row per id;
    rows written straight into raw may repeat one. Then the earliest-created row wins,
    ties broken by every other column, so the choice never depends on the order the
    rows were written in and full and incremental builds agree on one owner. -#}
with

users as (

    {{ keep_first_per_key(
        ref('stg_raw__users'),
        'user_id',
        'created_at asc nulls last, '
        ~ 'client_id asc nulls last, '
        ~ 'email asc nulls last, '
        ~ 'display_name asc nulls last',
    ) }}

)

select
    user_id,
    client_id,
    email,
    display_name,
    created_at
from users
