{#- One row per client, with its time zone and local creation day. -#}
with

clients as (

    select * from {{ ref('int_clients_deduplicated') }}

),

final as (

    select
        client_id,
        client_name,
        timezone,
        created_at,
        {{ local_date('created_at', 'timezone') }} as created_date
    from clients

)

select * from final
