{#- One row per heartbeat: the earliest-received copy of each heartbeat_id.

    Incremental backbone. A refresh reads only heartbeats received since the newest
    one already kept (minus a lookback of `heartbeat_lookback_hours`, for rows that
    reach raw slightly out of received order) or, for an out-of-order backfill, since
    the oldest received time of a load recorded after its last run; it picks the
    earliest copy per id among them, and appends it only when that heartbeat_id was
    never kept before: a late duplicate or a re-delivered copy of an already counted
    heartbeat changes nothing.
    Rows without a heartbeat_id cannot be deduplicated; each is kept under a content
    key (hash + ordinal) so it reaches the quarantine exactly once. -#}
{#- The loader's record of heartbeat loads (daybook.load.meta); absent when raw was
    written some other way, and then the lookback window alone decides. -#}
{%- set heartbeat_loads = adapter.get_relation(
        database=this.database, schema='daybook_meta', identifier='heartbeat_loads'
    ) if execute and is_incremental() else none -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        post_hook=["{{ analyze_on_postgres() }}"],
        indexes=postgres_indexes([
            {'columns': ['heartbeat_key'], 'unique': true},
            {'columns': ['received_at_utc']},
            {'columns': ['processed_at_utc']},
        ]),
    )
}}

with

heartbeats as (

    select * from {{ ref('stg_raw__heartbeats') }}
    {% if is_incremental() %}
    where received_at_utc >= {{ dbt.dateadd('hour', -1 * var('heartbeat_lookback_hours'),
                                            max_timestamp('received_at_utc', this)) }}
        {%- if heartbeat_loads is not none %}
        {#- an out-of-order backfill: rows loaded since the last run that added rows
            (loads stamp the same client clock as run_started_at), received before the
            window above; reading them again is harmless, only new ids are appended #}
        {%- set backfill_from = timestamp_literal(
                'select min(min_received_at_utc) from ' ~ heartbeat_loads
                ~ ' where rows_added > 0 and loaded_at_utc >= '
                ~ max_timestamp('processed_at_utc', this)) %}
        {%- if backfill_from is not none %}
        or received_at_utc >= {{ backfill_from }}
        {%- endif %}
        {%- endif %}
        or received_at_utc is null
    {% endif %}

),

with_id as (

    select * from heartbeats where heartbeat_id is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by heartbeat_id
            order by
                received_at_utc asc nulls last,
                generated_at_utc asc nulls last,
                total_activity_count asc nulls last
        ) as copy_rank
    from with_id

),

earliest_with_id as (

    select *, heartbeat_id as heartbeat_key from ranked where copy_rank = 1

),

without_id as (

    select
        *,
        {{ dbt.hash(
            "coalesce(client_id, '') || '|' || coalesce(user_id, '') || '|'"
            ~ " || coalesce(device_id, '') || '|'"
            ~ " || coalesce(cast(generated_at_utc as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(received_at_utc as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(chrome_activity_count as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(edge_activity_count as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(firefox_activity_count as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(desktop_activity_count as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(web_accessibility_activity_count as " ~ dbt.type_string() ~ "), '') || '|'"
            ~ " || coalesce(cast(total_activity_count as " ~ dbt.type_string() ~ "), '')"
        ) }} as content_hash
    from heartbeats
    where heartbeat_id is null

),

keyed_without_id as (

    select
        *,
        'anonymous-' || content_hash || '-' || cast(
            row_number() over (partition by content_hash order by content_hash)
            as {{ dbt.type_string() }}
        ) as heartbeat_key
    from without_id

),

earliest_copies as (

    select
        heartbeat_key, heartbeat_id, client_id, user_id, device_id,
        generated_at_utc, received_at_utc,
        chrome_activity_count, edge_activity_count, firefox_activity_count,
        desktop_activity_count, web_accessibility_activity_count, total_activity_count
    from earliest_with_id
    union all
    select
        heartbeat_key, heartbeat_id, client_id, user_id, device_id,
        generated_at_utc, received_at_utc,
        chrome_activity_count, edge_activity_count, firefox_activity_count,
        desktop_activity_count, web_accessibility_activity_count, total_activity_count
    from keyed_without_id

),

new_heartbeats as (

    select
        ----------  keys
        earliest_copies.heartbeat_key,
        earliest_copies.heartbeat_id,
        earliest_copies.client_id,
        earliest_copies.user_id,
        earliest_copies.device_id,

        ----------  timestamps
        earliest_copies.generated_at_utc,
        earliest_copies.received_at_utc,

        ----------  counts as delivered
        earliest_copies.chrome_activity_count,
        earliest_copies.edge_activity_count,
        earliest_copies.firefox_activity_count,
        earliest_copies.desktop_activity_count,
        earliest_copies.web_accessibility_activity_count,
        earliest_copies.total_activity_count,

        ----------  lineage
        {{ run_timestamp() }} as processed_at_utc

    from earliest_copies
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as already_kept
        where already_kept.heartbeat_key = earliest_copies.heartbeat_key
    )
    {% endif %}

)

select * from new_heartbeats
