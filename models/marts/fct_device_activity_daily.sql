{#- One row per client, device and local day, dense: every day from the device's first day
    (`dim_devices.active_from_date`: its local creation day or first active day,
    whichever is earlier) to the latest local day with valid activity anywhere in the
    warehouse, zero-filled, with the distinct count of users that day.

    Incremental. A pre-hook (`prune_dense_rows`) first deletes the rows a full build
    would no longer have. Then a refresh writes only (delete+insert on the grain)
      - the whole span of devices with no row on their first day yet (new or moved
        devices, or a first day moved earlier by a late heartbeat): `full_spans`,
      - every device's days after the last day already built: `new_days`,
      - the (client, day) partitions fct_activity_daily rebuilt since this table was
        last written (`touched_partitions`), for every device of that client:
        `touched_days`,
    so the cost follows the new data, not the history. The watermarks (last day
    built, newest refreshed_at_utc, latest active day) are read first, through
    indexes on PostgreSQL, and written into the SQL as literals, so the planner sees
    them. fct_activity_daily is read where it is used, not through a CTE: PostgreSQL
    materializes a CTE used twice whole (1.9M rows at 25M heartbeats, sorted on
    disk). How a refresh sums the rewritten days is dispatched
    (`activity_on_days`: index probes on PostgreSQL, a hash join elsewhere).

    Not sorted here (unlike fct_activity_daily): the DuckDB snapshot the API reads is
    written sorted by (device, day) at every publish (`daybook/serving/snapshots.py`),
    and sorting the warehouse copy too made DuckDB hold the join's table and the
    sort at once, which at 100M heartbeats ran out of the build's 3 GB. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy(),
        unique_key=['client_id', 'device_id', 'activity_date'],
        partition_by=partition_by('activity_month'),
        on_schema_change='append_new_columns',
        indexes=adapter_indexes([
            {'columns': ['client_id', 'device_id', 'activity_date'], 'unique': true},
            {'columns': ['activity_date']},
            {'columns': ['refreshed_at_utc']},
        ]),
        pre_hook=[
            "{{ incremental_session_settings() }}",
            "{{ prune_dense_rows('device') }}",
        ],
    )
}}

{%- if is_incremental() -%}
    {%- set last_refreshed_at = max_timestamp('refreshed_at_utc', this) -%}
    {%- set last_built = date_literal('select max(activity_date) from ' ~ this)
        or 'cast(null as date)' -%}
    {%- set last_active = newest_activity_date() -%}
    {%- set watermarks = {
        'last_refreshed_at': last_refreshed_at,
        'last_built': last_built,
        'last_active': last_active,
    } -%}
{%- endif %}

-- depends_on: {{ ref('int_heartbeats_validated') }}
-- depends_on: {{ ref('int_entity_versions') }}

with

devices as (

    select client_id, device_id, active_from_date
    from {{ ref('dim_devices') }}
    where active_from_date is not null

),

{% if is_incremental() %}
touched_partitions as (

    {{ touched_partitions(last_refreshed_at) }}

),

last_day as (

    select {{ last_active }} as last_activity_date

),

spans as (

    select
        devices.client_id,
        devices.device_id,
        devices.active_from_date,
        first_row.device_id is null as needs_full_span
    from devices
    left join {{ this }} as first_row
        on first_row.client_id = devices.client_id
        and first_row.device_id = devices.device_id
        and first_row.activity_date = devices.active_from_date

),
{% else %}
last_day as (

    select max(activity_date) as last_activity_date from {{ ref('fct_activity_daily') }}

),

spans as (

    select client_id, device_id, active_from_date, true as needs_full_span
    from devices

),
{% endif %}

dates as (

    select dim_dates.date_day
    from {{ ref('dim_dates') }} as dim_dates
    cross join last_day
    where dim_dates.date_day <= last_day.last_activity_date
        and dim_dates.date_day >= (select min(spans.active_from_date) from spans)

),

full_spans as (

    select spans.client_id, spans.device_id, dates.date_day as activity_date
    from spans
    inner join dates on dates.date_day >= spans.active_from_date
    where spans.needs_full_span

),

{% if is_incremental() %}
new_days as (

    select spans.client_id, spans.device_id, dates.date_day as activity_date
    from spans
    inner join dates
        on dates.date_day >= spans.active_from_date
        and dates.date_day > {{ last_built }}
    where not spans.needs_full_span

),

touched_days as (

    select spans.client_id, spans.device_id, touched_partitions.activity_date
    from spans
    inner join touched_partitions
        on touched_partitions.client_id = spans.client_id
        and touched_partitions.activity_date >= spans.active_from_date
        and touched_partitions.activity_date <= {{ last_built }}
        and touched_partitions.activity_date <= {{ last_active }}
    where not spans.needs_full_span

),

spined as (

    {{ dense_days_to_write('device', ['full_spans', 'new_days', 'touched_days'], watermarks) }}

),

daily as (

    {{ activity_on_days(ref('fct_activity_daily'), 'spined', 'device_id', 'user_id') }}

),
{% else %}
spined as (

    select * from full_spans

),

daily as (

    select
        client_id,
        device_id,
        activity_date,
        {% for measure in activity_measure_columns() -%}
        sum({{ measure }}) as {{ measure }},
        {% endfor -%}
        -- fct_activity_daily holds one row per user a day (device grain tested
        -- unique before this runs), so a plain count is the distinct count, and spills
        count(user_id) as user_count
    from {{ ref('fct_activity_daily') }}
    group by client_id, device_id, activity_date

),
{% endif %}

final as (

    select
        ----------  grain
        spined.client_id,
        spined.device_id,
        spined.activity_date,

        ----------  measures (0 on days without valid activity)
        {% for measure in activity_measure_columns() -%}
        cast(coalesce(daily.{{ measure }}, 0) as bigint) as {{ measure }},
        {% endfor -%}
        cast(coalesce(daily.user_count, 0) as bigint) as user_count,

        ----------  lineage
        {{ run_timestamp() }} as refreshed_at_utc
        {{ month_partition_column('spined.activity_date') }} -- noqa: LT02

    from spined
    left join daily
        on daily.client_id = spined.client_id
        and daily.device_id = spined.device_id
        and daily.activity_date = spined.activity_date

)

select * from final
