{#- One row per deduplicated heartbeat with its validity, the reasons it is invalid,
    and (when valid) its local day in the client's time zone.

    Deduplication comes first: this validates the copy `int_heartbeats_deduplicated`
    kept. Incremental: a refresh validates again
      - the heartbeats deduplicated since its last run (new ids, and earlier copies
        that replaced a kept one), and
      - every heartbeat of a client, user or device that arrived, changed (time zone,
        owner, creation time) or vanished since its last run (`int_entity_versions`),
    so its rows equal what a full build computes from the current raw tables. Every
    row written in a run carries that run's `processed_at_utc`, and the (client, local
    day) the row counted in before it was rewritten (`previous_client_id`,
    `previous_activity_date`), which a post-hook appends to
    `daybook_meta.heartbeat_departures` (`record_heartbeat_departures`), so the facts
    rebuild both the partitions a heartbeat left, in every rewrite since each fact
    last ran, and the ones it joined.

    One model of about 300 lines, on purpose: every step (join the entities, check,
    name the reasons, find the local day) works on this run's candidates, which only
    this model can select (they are read from `this` at its own watermark); split
    into ephemeral or view models, those steps would see every heartbeat instead. The
    rules themselves are expression macros (`is_whole_count.sql`, `local_date.sql`). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='heartbeat_key',
        partition_by=partition_by('activity_date'),
        on_schema_change='append_new_columns',
        indexes=adapter_indexes([
            {'columns': ['heartbeat_key'], 'unique': true},
            {'columns': ['client_id', 'activity_date']},
            {'columns': ['user_id']},
            {'columns': ['device_id']},
            {'columns': ['processed_at_utc']},
        ]),
        pre_hook=["{{ incremental_session_settings() }}"],
        post_hook=[
            "{{ record_heartbeat_departures() }}",
            "{{ drop_moved_partitions('heartbeat_key', 'activity_date') }}",
            "{{ index_quarantined_heartbeats() }}",
            "{{ refresh_statistics() }}",
        ],
    )
}}

{%- set measures = activity_count_columns() -%}
{#- find local days per (zone, UTC hour) or per heartbeat: `local_days_by_hour` -#}
{%- set by_hour = local_days_by_hour() -%}
{%- set last_processed = max_timestamp('processed_at_utc', this)
    if execute and is_incremental() else none -%}
{#- whether a client, user or device arrived, changed or vanished since the last run:
    only then does a refresh look for their heartbeats (a scan of this table on Spark,
    whatever it finds) -#}
{%- set entities_changed = last_processed is not none and run_query(
    'select count(*) from ' ~ ref('int_entity_versions')
    ~ ' where changed_at_utc > ' ~ last_processed
).columns[0].values()[0] > 0 -%}
{%- set heartbeat_columns = [
    'heartbeat_key', 'heartbeat_id', 'client_id', 'user_id', 'device_id',
    'generated_at_utc', 'received_at_utc',
] + measures -%}

-- depends_on: {{ ref('int_entity_versions') }}

{% call complete_partitions('heartbeat_key', 'activity_date') -%}
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
    where processed_at_utc > {{ last_processed }}
    {% endif %}

),

{% if is_incremental() %}
{% if entities_changed %}
changed_entities as (

    select entity_type, entity_id
    from {{ ref('int_entity_versions') }}
    where changed_at_utc > {{ last_processed }}

),

{#- one join per entity kind, so PostgreSQL looks each id up through its index #}
entity_affected_keys as (

    {%- for kind in ['client', 'user', 'device'] %}
    select affected.heartbeat_key
    from {{ this }} as affected
    inner join changed_entities
        on changed_entities.entity_type = '{{ kind }}'
        and changed_entities.entity_id = affected.{{ kind }}_id
    {{ 'union' if not loop.last }}
    {%- endfor %}

),

entity_affected as (

    select {{ heartbeat_columns | join(', ') }}
    from {{ this }} as affected
    where {{ key_among(this, 'affected', 'heartbeat_key',
            'select heartbeat_key from entity_affected_keys') }}
        and not exists (
            select 1
            from newly_deduplicated
            where newly_deduplicated.heartbeat_key = affected.heartbeat_key
        )

),

{% endif %}
candidates as (

    select * from newly_deduplicated
    {% if entities_changed -%}
    union all
    select * from entity_affected
    {%- endif %}

),

with_previous as (

    select
        candidates.*,
        previous.client_id as previous_client_id,
        previous.activity_date as previous_activity_date
    from candidates
    {#- dispatched: PostgreSQL looks each candidate up through the unique key's index #}
    {{ join_previous_row(this, 'candidates') }}

),
{% else %}
with_previous as (

    select
        newly_deduplicated.*,
        cast(null as {{ dbt.type_string() }}) as previous_client_id,
        cast(null as date) as previous_activity_date
    from newly_deduplicated

),
{% endif %}

joined as {{ inline_in_full_builds() }} (

    select
        candidates.*,
        clients.timezone,
        users.client_id as user_client_id,
        devices.client_id as device_client_id,
        clients.client_id is not null as client_exists,
        users.user_id is not null as user_exists,
        devices.device_id is not null as device_exists
    from with_previous as candidates
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
        {{ all_whole_counts(measures) }} as has_whole_counts,
        {{ any_count_out_of_range(measures) }} as has_count_out_of_range,
        {{ any_invalid_count(measures) }} as has_invalid_count,
        generated_at_utc is null as has_missing_generated_at,
        not {{ has_calendar_day('generated_at_utc') }} as has_generated_at_out_of_range
    from joined

),

reasoned as (

    select
        *,
        nullif(
            concat_ws(
                ',',
                case when has_missing_id then 'missing_id' end,
                case when has_unknown_client then 'unknown_client' end,
                case when has_invalid_client_timezone then 'invalid_client_timezone' end,
                case when has_unknown_user then 'unknown_user' end,
                case when has_user_client_mismatch then 'user_client_mismatch' end,
                case when has_unknown_device then 'unknown_device' end,
                case when has_device_client_mismatch then 'device_client_mismatch' end,
                case when has_invalid_count then 'invalid_count' end,
                case when has_count_out_of_range then 'count_out_of_range' end,
                case
                    when has_whole_counts
                        and {{ activity_source_columns() | join(' + ') }} <> total_activity_count
                        then 'total_mismatch'
                end,
                case when has_missing_generated_at then 'missing_generated_at' end,
                case when has_generated_at_out_of_range then 'generated_at_out_of_range' end
            ),
            ''
        ) as invalid_reasons
    from checked

),

{% if by_hour %}
local_hours as (

    -- Time zone conversion is costly per row (ICU on DuckDB), so it runs once per
    -- (zone, UTC hour) of the heartbeats with a known zone: when the UTC offset is the
    -- same at both ends of the hour it holds for the whole hour; an hour holding a DST
    -- change falls back to converting each heartbeat. Read from `joined`, not from the
    -- validity checks, so this second read of it needs two columns only.
    select distinct
        timezone,
        {{ dbt.date_trunc('hour', 'generated_at_utc') }} as utc_hour
    from joined
    where timezone is not null and {{ has_calendar_day('generated_at_utc') }}

),

hour_offsets as (

    select
        timezone,
        utc_hour,
        {{ local_timestamp('utc_hour', 'timezone', checked=true) }} - utc_hour as offset_at_start,
        (
            {{ local_timestamp(dbt.dateadd('hour', 1, 'utc_hour'), 'timezone', checked=true) }}
            - {{ dbt.dateadd('hour', 1, 'utc_hour') }}
        ) as offset_at_end
    from local_hours

),
{% endif %}

located as (

    select
        reasoned.*,
        case
            when reasoned.invalid_reasons is not null then null
            {%- if by_hour %}
            when hour_offsets.offset_at_start = hour_offsets.offset_at_end
                then cast(reasoned.generated_at_utc + hour_offsets.offset_at_start as date)
            {%- endif %}
            else {{ local_date('reasoned.generated_at_utc', 'reasoned.timezone', checked=true) }}
        end as activity_date
    from reasoned
    {% if by_hour -%}
    left join hour_offsets
        on hour_offsets.timezone = reasoned.timezone
        and hour_offsets.utc_hour = {{ dbt.date_trunc('hour', 'reasoned.generated_at_utc') }}
    {%- endif %}

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
        {{ run_timestamp() }} as processed_at_utc,
        previous_client_id,
        previous_activity_date
        {{ key_hash_column('heartbeat_key', 'heartbeat_key') }} -- noqa: LT02

    from located

)

select * from validated
{% endcall %}
