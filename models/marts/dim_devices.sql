{#- One row per device of a known client, with its local creation day and the span
    of days the dense fact `fct_device_activity_daily` covers for it. -#}
with

entities as (

    select * from {{ ref('int_devices_deduplicated') }}

),

clients as (

    select client_id, timezone from {{ ref('dim_clients') }}

),

activity as (

    select
        client_id,
        device_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date
    from {{ ref('fct_activity_daily') }}
    group by client_id, device_id

),

dated as (

    select
        entities.device_id,
        entities.client_id,
        entities.hostname,
        entities.platform,
        entities.created_at,
        {{ local_date('entities.created_at', 'clients.timezone') }} as created_date,
        activity.first_active_date,
        activity.last_active_date
    from entities
    inner join clients on clients.client_id = entities.client_id
    left join activity
        on activity.client_id = entities.client_id
        and activity.device_id = entities.device_id

),

final as (

    select
        *,
        case
            when created_date is null then first_active_date
            when first_active_date is null then created_date
            when first_active_date < created_date then first_active_date
            else created_date
        end as active_from_date
    from dated

)

select * from final
