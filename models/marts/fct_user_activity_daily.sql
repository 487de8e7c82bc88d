{#- One row per client, user and local day, dense: every day from the user's first
    day (`dim_users.active_from_date`: its local creation day or first active day,
    whichever is earlier) to the latest local day with valid activity anywhere in
    the warehouse, zero-filled, joined to the date spine. Incremental: see the
    macro `dense_daily_activity`. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['client_id', 'user_id', 'activity_date'],
        on_schema_change='append_new_columns',
        indexes=postgres_indexes([
            {'columns': ['client_id', 'user_id', 'activity_date'], 'unique': true},
            {'columns': ['activity_date']},
            {'columns': ['refreshed_at_utc']},
        ]),
        pre_hook=[
            "{{ incremental_session_on_postgres() }}",
            "{{ prune_dense_rows('user') }}",
        ],
    )
}}

-- depends_on: {{ ref('int_heartbeats_validated') }}
-- depends_on: {{ ref('int_entity_versions') }}
{{ dense_daily_activity('user', 'device') }}
