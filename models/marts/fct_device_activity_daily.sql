{#- One row per client, device and local day, dense: every day from the device's first
    day (`dim_devices.active_from_date`: its local creation day or first active day,
    whichever is earlier) to the latest local day with valid activity anywhere in
    the warehouse, zero-filled, joined to the date spine. Incremental: see the
    macro `dense_daily_activity`. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['client_id', 'device_id', 'activity_date'],
        on_schema_change='append_new_columns',
        indexes=postgres_indexes([
            {'columns': ['client_id', 'device_id', 'activity_date'], 'unique': true},
            {'columns': ['activity_date']},
            {'columns': ['refreshed_at_utc']},
        ]),
        pre_hook=[
            "{{ incremental_session_on_postgres() }}",
            "{{ prune_dense_rows('device') }}",
        ],
    )
}}

-- depends_on: {{ ref('int_heartbeats_validated') }}
-- depends_on: {{ ref('int_entity_versions') }}
{{ dense_daily_activity('device', 'user') }}
