{#- One row per invalid heartbeat (after deduplication: the earliest-received copy
    of its id, or every row without an id), with the comma-separated reasons. A view,
    so it always shows the current validation without a scan at build time. -#}
{{ config(materialized='view') }}

with

validated as (

    select * from {{ ref('int_heartbeats_validated') }}

),

quarantined as (

    select
        heartbeat_key,
        heartbeat_id,
        client_id,
        user_id,
        device_id,
        generated_at_utc,
        received_at_utc,
        {% for count in activity_count_columns() -%}
        {{ count }},
        {% endfor -%}
        invalid_reasons,
        processed_at_utc
    from validated
    where not is_valid

)

select * from quarantined
