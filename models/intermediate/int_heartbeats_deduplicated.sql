{#- One row per heartbeat: the earliest copy of each heartbeat_id (earliest received,
    ties broken by every other column: `heartbeat_copy_order`).

    Incremental backbone. A refresh reads the raw heartbeats received since the boundary
    the previous run recorded (the newest heartbeat then kept minus
    `heartbeat_lookback_hours`), or all of raw when rows older than that boundary have
    arrived since (a backfill, rows written into raw by hand): see
    `dbt_project/macros/heartbeat_reads.sql`. Among the copies read and the copy already
    kept for each id, the earliest wins; it is written (delete+insert on the key) only
    when it is a new id or an earlier copy than the one kept, so a late duplicate
    changes nothing and a late copy received *earlier* replaces the kept one, as a full
    build would have chosen it.
    Rows without a heartbeat_id cannot be deduplicated; each is kept under a content
    key (hash + ordinal) so it reaches the quarantine exactly once. -#}
{%- set raw_heartbeats = ref('stg_raw__heartbeats') -%}
{%- set read_from = heartbeat_read_from(raw_heartbeats)
    if execute and is_incremental() else none -%}
{{
    config(
        materialized='incremental',
        incremental_strategy=keyed_incremental_strategy(),
        unique_key='heartbeat_key',
        partition_by=partition_by('received_date'),
        on_schema_change='append_new_columns',
        pre_hook=["{{ record_heartbeat_reads(ref('stg_raw__heartbeats')) }}"],
        post_hook=[
            "{{ commit_heartbeat_reads() }}",
            "{{ drop_moved_partitions('heartbeat_key', 'received_date') }}",
            "{{ refresh_statistics() }}",
        ],
        indexes=adapter_indexes([
            {'columns': ['heartbeat_key'], 'unique': true},
            {'columns': ['received_at_utc']},
            {'columns': ['processed_at_utc']},
        ]),
    )
}}

{%- set heartbeat_columns = [
    'heartbeat_id', 'client_id', 'user_id', 'device_id',
    'generated_at_utc', 'received_at_utc',
] + activity_count_columns() -%}

{% call complete_partitions('heartbeat_key', 'received_date') -%}
with

heartbeats as {{ inline_in_full_builds() }} (

    select * from {{ ref('stg_raw__heartbeats') }}
    {% if is_incremental() and read_from is not none %}
    {#- two reads, not one `or`: each prunes raw's row groups by its min/max and null
        count (at 100M heartbeats the `or` read every row group) #}
    where received_at_utc >= {{ read_from }}
    union all
    select * from {{ ref('stg_raw__heartbeats') }}
    where received_at_utc is null
    {% endif %}

),

copies as {{ inline_in_full_builds() }} (

    select {{ heartbeat_columns | join(', ') }}, 1 as copy_source
    from heartbeats
    where heartbeat_id is not null
    {% if is_incremental() %}
    {#- the copy kept so far competes with the copies read; it wins ties, so an
        identical copy read again rewrites nothing. Found by key alone: a kept row
        without an id (or one `key_among` finds by a shared hash) matches no copy
        read, and only copies read are written; a filter on the id here would be
        checked on every row the lookup's scan passes (4.6 s at 25M heartbeats) #}
    union all
    select {{ heartbeat_columns | join(', ') }}, 0 as copy_source
    from {{ this }} as kept
    where {{ key_among(this, 'kept', 'heartbeat_key',
        'select heartbeat_id from heartbeats where heartbeat_id is not null') }}
    {% endif %}

),

{#- A full build ranks only the ids with more than one copy (below), except on Spark
    (`full_build_ranks_repeated_ids_only`). A refresh's copies are few: it ranks them
    all, so they are read once (Spark reads a CTE again at every reference, and each
    read scans this table by key). #}
{%- set rank_repeated_only = not is_incremental() and full_build_ranks_repeated_ids_only() %}
{% if rank_repeated_only %}
repeated_ids as (

    -- Only ids with more than one copy need ranking: about 2 % of ids are repeated,
    -- and an id's only copy is its earliest. So the window sorts the repeated ids'
    -- copies only, and every other copy passes through in raw's load order (for
    -- deliveries loaded as they arrive, day order), which the models after this one
    -- read: at 100M heartbeats on DuckDB validation took 327 s instead of 376 s and
    -- fct_activity_daily's aggregate 17 s instead of 110 s (docs/ARCHITECTURE.md).
    select heartbeat_id
    from copies
    group by heartbeat_id
    having count(*) > 1

),
{% endif %}

ranked as (

    select
        copies.*,
        row_number() over (
            partition by copies.heartbeat_id
            order by {{ heartbeat_copy_order('copies.') }}, copies.copy_source
        ) as copy_rank
    from copies
    {% if rank_repeated_only -%}
    inner join repeated_ids on repeated_ids.heartbeat_id = copies.heartbeat_id
    {%- endif %}

),

earliest_with_id as (

    {% if rank_repeated_only -%}
    select {{ heartbeat_columns | join(', ') }}, heartbeat_id as heartbeat_key
    from copies
    where copy_source = 1
        and not exists (
            select 1
            from repeated_ids
            where repeated_ids.heartbeat_id = copies.heartbeat_id
        )
    union all
    {% endif -%}
    select {{ heartbeat_columns | join(', ') }}, heartbeat_id as heartbeat_key
    from ranked
    where copy_rank = 1 and copy_source = 1

),

without_id as (

    select
        *,
        {{ dbt.hash(content_fingerprint(heartbeat_columns[1:])) }} as content_hash
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

    select heartbeat_key, {{ heartbeat_columns | join(', ') }}
    from earliest_with_id
    union all
    select heartbeat_key, {{ heartbeat_columns | join(', ') }}
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
        {% for count in activity_count_columns() -%}
        earliest_copies.{{ count }},
        {% endfor %}
        ----------  lineage
        {{ run_timestamp() }} as processed_at_utc
        {{ key_hash_column('earliest_copies.heartbeat_key', 'heartbeat_key') }} -- noqa: LT02
        {{ receipt_partition_column('earliest_copies.received_at_utc') }} -- noqa: LT02

    from earliest_copies
    {% if is_incremental() %}
    where earliest_copies.heartbeat_id is not null
        or not exists (
            select 1
            from {{ this }} as already_kept
            where already_kept.heartbeat_key = earliest_copies.heartbeat_key
        )
    {% endif %}

)

select * from new_heartbeats
{% endcall %}
