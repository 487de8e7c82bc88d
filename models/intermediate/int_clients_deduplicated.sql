{#- One row per client_id: raw entity tables may repeat an id (re-delivered files).
    `daybook load` replaces an entity row by id, so raw normally holds one row per id;
    rows written straight into raw may repeat one. Then the earliest-created row wins,
    ties broken by every other column, so the choice never depends on the order the
    rows were written in and full and incremental builds agree on one owner. -#}
with

clients as (

    {{ keep_first_per_key(
        ref('stg_raw__clients'),
        'client_id',
        'created_at asc nulls last, '
        ~ 'timezone asc nulls last, '
        ~ 'client_name asc nulls last',
    ) }}

)

select
    client_id,
    client_name,
    timezone,
    created_at
from clients
