{#- One row per user and per device of a known client (entity_type, entity_id), with
    the span of days its dense daily fact covers: its local creation day, its first
    and last local day of valid activity (fct_activity_daily; null when none), and
    `active_from_date`, the earlier of creation and first activity. dim_users and
    dim_devices read it, so both kinds of entity get one definition of their span.

    A table, rebuilt every run (one row per entity, small): computed once for both
    dimensions, and analyzed (`refresh_statistics`), so PostgreSQL plans their joins
    with its real row count. How the first and last days are found is dispatched
    (`with_first_and_last_active_dates`): PostgreSQL probes the fact's (client,
    entity, day) index twice per entity, other warehouses group the fact. -#}
{{ config(materialized='table', post_hook=["{{ refresh_statistics() }}"]) }}

with

clients as (

    select client_id, timezone from {{ ref('int_clients_deduplicated') }}

),

users as (

    select user_id, client_id, created_at from {{ ref('int_users_deduplicated') }}

),

devices as (

    select device_id, client_id, created_at from {{ ref('int_devices_deduplicated') }}

),

active_users as (

    {{ with_first_and_last_active_dates(ref('fct_activity_daily'), 'users', 'user_id') }}

),

active_devices as (

    {{ with_first_and_last_active_dates(ref('fct_activity_daily'), 'devices', 'device_id') }}

),

entities as (

    select
        cast('user' as {{ dbt.type_string() }}) as entity_type,
        user_id as entity_id,
        client_id,
        created_at,
        first_active_date,
        last_active_date
    from active_users

    union all

    select
        cast('device' as {{ dbt.type_string() }}) as entity_type,
        device_id as entity_id,
        client_id,
        created_at,
        first_active_date,
        last_active_date
    from active_devices

),

dated as (

    select
        entities.entity_type,
        entities.entity_id,
        entities.client_id,
        {{ local_creation_date('entities.created_at', 'clients.timezone') }} as created_date,
        entities.first_active_date,
        entities.last_active_date
    from entities
    inner join clients on clients.client_id = entities.client_id

),

final as (

    select
        *,
        {{ earlier_date('created_date', 'first_active_date') }} as active_from_date
    from dated

)

select * from final
