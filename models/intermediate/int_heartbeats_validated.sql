{#- One row per deduplicated heartbeat with its validity, the reasons it is invalid,
    and (when valid) its local day in the client's time zone.

    Deduplication comes first: this validates the copy `int_heartbeats_deduplicated`
    kept. Incremental: a refresh validates the heartbeats deduplicated since the last
    one, plus quarantined heartbeats whose only problem may have been an entity that
    had not arrived yet (an unknown client, user or device that now exists). Every
    row written in a run carries that run's `processed_at_utc`, which the facts use
    to find the (client, local day) partitions to rebuild. -#}
{#- Quarantined heartbeats that a newly arrived client, user or device (or a client's
    zone becoming known) can make valid: re-checked on every refresh. The same text is
    the predicate of a partial index on PostgreSQL, so the check reads those few rows
    (8.8k of 123k quarantined at 25M heartbeats: 0.8 s became a few ms). -#}
{%- set awaiting_entity = "not is_valid and ("
    ~ "invalid_reasons like '%unknown_client%'"
    ~ " or invalid_reasons like '%unknown_user%'"
    ~ " or invalid_reasons like '%unknown_device%'"
    ~ " or invalid_reasons like '%invalid_client_timezone%')" -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='heartbeat_key',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['heartbeat_key'], 'unique': true},
            {'columns': ['client_id', 'activity_date']},
            {'columns': ['processed_at_utc']},
        ]),
        post_hook=[
            "{% if target.type == 'postgres' %}create index if not exists "
            ~ "int_heartbeats_validated_quarantined on {{ this }} (heartbeat_key) "
            ~ "where not is_valid{% endif %}",
            "{% if target.type == 'postgres' %}create index if not exists "
            ~ "int_heartbeats_validated_awaiting_entity on {{ this }} (heartbeat_key) "
            ~ "where " ~ awaiting_entity ~ "{% endif %}",
            "{{ analyze_on_postgres() }}",
        ],
    )
}}

{%- set measures = [
    'chrome_activity_count',
    'edge_activity_count',
    'firefox_activity_count',
    'desktop_activity_count',
    'web_accessibility_activity_count',
    'total_activity_count',
] -%}
{%- set heartbeat_columns = [
    'heartbeat_key', 'heartbeat_id', 'client_id', 'user_id', 'device_id',
    'generated_at_utc', 'received_at_utc',
] + measures -%}

with

clients as (

    -- timezone is null unless the database knows the client's zone: an unknown zone
    -- quarantines the client's heartbeats (invalid_client_timezone) and is never
    -- handed to a conversion, so one bad client row cannot fail the build.
    select client_id, {{ valid_timezone('timezone') }} as timezone
    from {{ ref('int_clients_deduplicated') }}

),

users as (

    select user_id, client_id from {{ ref('int_users_deduplicated') }}

),

devices as (

    select device_id, client_id from {{ ref('int_devices_deduplicated') }}

),

newly_deduplicated as (

    select {{ heartbeat_columns | join(', ') }}
    from {{ ref('int_heartbeats_deduplicated') }}
    {% if is_incremental() %}
    where processed_at_utc > {{ max_timestamp('processed_at_utc', this) }}
    {% endif %}

),

{% if is_incremental() %}
entity_arrived as (

    select {{ heartbeat_columns | join(', ') }}
    from {{ this }} as quarantined
    where {{ awaiting_entity }}
        and (
            (invalid_reasons like '%unknown_client%'
                and quarantined.client_id in (select client_id from clients))
            or (invalid_reasons like '%unknown_user%'
                and quarantined.user_id in (select user_id from users))
            or (invalid_reasons like '%unknown_device%'
                and quarantined.device_id in (select device_id from devices))
            or (invalid_reasons like '%invalid_client_timezone%'
                and quarantined.client_id in
                    (select client_id from clients where timezone is not null))
        )
        and not exists (
            select 1
            from newly_deduplicated
            where newly_deduplicated.heartbeat_key = quarantined.heartbeat_key
        )

),

candidates as (

    select * from newly_deduplicated
    union all
    select * from entity_arrived

),
{% else %}
candidates as (

    select * from newly_deduplicated

),
{% endif %}

joined as (

    select
        candidates.*,
        clients.timezone,
        clients.client_id is not null as client_exists,
        users.user_id is not null as user_exists,
        users.client_id as user_client_id,
        devices.device_id is not null as device_exists,
        devices.client_id as device_client_id
    from candidates
    left join clients on clients.client_id = candidates.client_id
    left join users on users.user_id = candidates.user_id
    left join devices on devices.device_id = candidates.device_id

),

checked as (

    select
        *,
        (heartbeat_id is null or client_id is null or user_id is null or device_id is null)
            as has_missing_id,
        (client_id is not null and not client_exists) as has_unknown_client,
        (client_exists and timezone is null) as has_invalid_client_timezone,
        (user_id is not null and not user_exists) as has_unknown_user,
        (user_exists and user_client_id is distinct from client_id) as has_user_client_mismatch,
        (device_id is not null and not device_exists) as has_unknown_device,
        (device_exists and device_client_id is distinct from client_id)
            as has_device_client_mismatch,
        (
            {%- for measure in measures %}
            {{ is_whole_count(measure) }}{{ ' and' if not loop.last }}
            {%- endfor %}
        ) as has_whole_counts,
        generated_at_utc is null as has_missing_generated_at
    from joined

),

reasoned as (

    select
        *,
        nullif(concat_ws(',',
            case when has_missing_id then 'missing_id' end,
            case when has_unknown_client then 'unknown_client' end,
            case when has_invalid_client_timezone then 'invalid_client_timezone' end,
            case when has_unknown_user then 'unknown_user' end,
            case when has_user_client_mismatch then 'user_client_mismatch' end,
            case when has_unknown_device then 'unknown_device' end,
            case when has_device_client_mismatch then 'device_client_mismatch' end,
            case when not has_whole_counts then 'invalid_count' end,
            case
                when has_whole_counts
                    and chrome_activity_count + edge_activity_count + firefox_activity_count
                        + desktop_activity_count + web_accessibility_activity_count
                        <> total_activity_count
                    then 'total_mismatch'
            end,
            case when has_missing_generated_at then 'missing_generated_at' end
        ), '') as invalid_reasons
    from checked

),

local_hours as (

    -- Time zone conversion is costly per row (ICU on DuckDB), so it runs once per
    -- (zone, UTC hour) of the valid heartbeats: when the UTC offset is the same at
    -- both ends of the hour it holds for the whole hour; an hour holding a DST change
    -- falls back to converting each heartbeat.
    select distinct
        timezone,
        {{ dbt.date_trunc('hour', 'generated_at_utc') }} as utc_hour
    from reasoned
    where invalid_reasons is null

),

hour_offsets as (

    select
        timezone,
        utc_hour,
        {{ local_timestamp('utc_hour', 'timezone', checked=true) }} - utc_hour as offset_at_start,
        {{ local_timestamp(dbt.dateadd('hour', 1, 'utc_hour'), 'timezone', checked=true) }}
            - {{ dbt.dateadd('hour', 1, 'utc_hour') }} as offset_at_end
    from local_hours

),

located as (

    select
        reasoned.*,
        case
            when reasoned.invalid_reasons is not null then null
            when hour_offsets.offset_at_start = hour_offsets.offset_at_end
                then cast(reasoned.generated_at_utc + hour_offsets.offset_at_start as date)
            else {{ local_date('reasoned.generated_at_utc', 'reasoned.timezone', checked=true) }}
        end as activity_date
    from reasoned
    left join hour_offsets
        on hour_offsets.timezone = reasoned.timezone
        and hour_offsets.utc_hour = {{ dbt.date_trunc('hour', 'reasoned.generated_at_utc') }}

),

validated as (

    select
        ----------  keys
        {% for column in heartbeat_columns[:5] -%}
        {{ column }},
        {% endfor %}
        ----------  timestamps
        generated_at_utc,
        received_at_utc,
        activity_date,

        ----------  counts as delivered
        {% for measure in measures -%}
        {{ measure }},
        {% endfor %}
        ----------  validity
        invalid_reasons is null as is_valid,
        invalid_reasons,

        ----------  lineage
        {{ run_timestamp() }} as processed_at_utc

    from located

)

select * from validated
{{ cluster_by_keys(['activity_date']) }}
