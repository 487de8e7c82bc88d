{#- One row per client, with its time zone and local creation day. A client whose zone
    the database does not know stays (the API still needs to find it) with a null
    created_date: `local_date` converts only known zones. -#}
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
        {{ local_creation_date('created_at', 'timezone') }} as created_date
    from clients

)

select * from final
