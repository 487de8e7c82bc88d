{#- One row per device of a known client (one whose client is not in dim_clients is
    left out: its heartbeats are quarantined), with its local creation day and the
    span of days the dense fact `fct_device_activity_daily` covers for it
    (`int_entity_spans`). -#}
with

devices as (

    select * from {{ ref('int_devices_deduplicated') }}

),

spans as (

    select * from {{ ref('int_entity_spans') }}
    where entity_type = 'device'

),

final as (

    select
        devices.device_id,
        devices.client_id,
        devices.hostname,
        devices.platform,
        devices.created_at,
        spans.created_date,
        spans.first_active_date,
        spans.last_active_date,
        spans.active_from_date
    from devices
    inner join spans on spans.entity_id = devices.device_id

)

select * from final
