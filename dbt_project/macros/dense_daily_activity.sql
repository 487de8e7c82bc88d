{# The body of a dense daily fact (fct_user_activity_daily, fct_device_activity_daily):
   one row per client, `entity` and local day, from the entity's active_from_date
   (its dim) to the latest local day with valid activity anywhere, zero-filled, with
   the distinct count of `other` entities that day.

   Incremental: a refresh writes only
     - the whole span of entities that have no row on their first day yet (new
       entities, or a first day moved earlier by a late heartbeat),
     - every entity's days after the last day already built (the spine grew),
     - the (client, day) partitions fct_activity_daily rebuilt since this table was
       last written (late heartbeats included), for every entity of that client,
   and replaces those rows (delete+insert on the grain). Everything else is left
   alone, so the cost follows the new data, not the history. #}
{% macro dense_daily_activity(entity, other) %}
{%- set key = entity ~ '_id' -%}
{%- set other_key = other ~ '_id' -%}
{%- set measures = [
    'chrome_activity_count',
    'edge_activity_count',
    'firefox_activity_count',
    'desktop_activity_count',
    'web_accessibility_activity_count',
    'total_activity_count',
    'heartbeat_count',
] -%}

with

entities as (

    select client_id, {{ key }}, active_from_date
    from {{ ref('dim_' ~ entity ~ 's') }}
    where active_from_date is not null

),

activity as (

    select * from {{ ref('fct_activity_daily') }}

),

{% if is_incremental() %}
previous as (

    select
        max(activity_date) as last_built_date,
        coalesce(max(refreshed_at_utc), {{ epoch_timestamp() }}) as last_refreshed_at
    from {{ this }}

),

touched_partitions as (

    select distinct activity.client_id, activity.activity_date
    from activity
    cross join previous
    where activity.refreshed_at_utc > previous.last_refreshed_at

),

last_day as (

    select max(activity_date) as last_activity_date
    from (
        select last_built_date as activity_date from previous
        union all
        select activity_date from touched_partitions
    ) as candidates

),

spans as (

    select
        entities.client_id,
        entities.{{ key }},
        entities.active_from_date,
        first_row.{{ key }} is null as needs_full_span
    from entities
    left join {{ this }} as first_row
        on first_row.client_id = entities.client_id
        and first_row.{{ key }} = entities.{{ key }}
        and first_row.activity_date = entities.active_from_date

),
{% else %}
last_day as (

    select max(activity_date) as last_activity_date from activity

),

spans as (

    select
        client_id,
        {{ key }},
        active_from_date,
        true as needs_full_span
    from entities

),
{% endif %}

dates as (

    select dim_dates.date_day
    from {{ ref('dim_dates') }} as dim_dates
    cross join last_day
    where dim_dates.date_day <= last_day.last_activity_date
        and dim_dates.date_day >= (select min(active_from_date) from spans)

),

full_spans as (

    select spans.client_id, spans.{{ key }}, dates.date_day as activity_date
    from spans
    inner join dates on dates.date_day >= spans.active_from_date
    where spans.needs_full_span

),

{% if is_incremental() %}
new_days as (

    select spans.client_id, spans.{{ key }}, dates.date_day as activity_date
    from spans
    cross join previous
    inner join dates
        on dates.date_day >= spans.active_from_date
        and dates.date_day > previous.last_built_date
    where not spans.needs_full_span

),

touched_days as (

    select spans.client_id, spans.{{ key }}, touched_partitions.activity_date
    from spans
    cross join previous
    inner join touched_partitions
        on touched_partitions.client_id = spans.client_id
        and touched_partitions.activity_date >= spans.active_from_date
        and touched_partitions.activity_date <= previous.last_built_date
    where not spans.needs_full_span

),

spined as (

    select * from full_spans
    union all
    select * from new_days
    union all
    select * from touched_days

),
{% else %}
spined as (

    select * from full_spans

),
{% endif %}

daily as (

    select
        activity.client_id,
        activity.{{ key }},
        activity.activity_date,
        {% for measure in measures -%}
        sum(activity.{{ measure }}) as {{ measure }},
        {% endfor -%}
        count(distinct activity.{{ other_key }}) as {{ other }}_count
    from activity
    {% if is_incremental() %}
    inner join spined
        on spined.client_id = activity.client_id
        and spined.{{ key }} = activity.{{ key }}
        and spined.activity_date = activity.activity_date
    {% endif %}
    group by activity.client_id, activity.{{ key }}, activity.activity_date

),

final as (

    select
        ----------  grain
        spined.client_id,
        spined.{{ key }},
        spined.activity_date,

        ----------  measures (0 on days without valid activity)
        {% for measure in measures -%}
        cast(coalesce(daily.{{ measure }}, 0) as bigint) as {{ measure }},
        {% endfor -%}
        cast(coalesce(daily.{{ other }}_count, 0) as bigint) as {{ other }}_count,

        ----------  lineage
        {{ run_timestamp() }} as refreshed_at_utc

    from spined
    left join daily
        on daily.client_id = spined.client_id
        and daily.{{ key }} = spined.{{ key }}
        and daily.activity_date = spined.activity_date

)

select * from final
{{ cluster_by_keys(['client_id', key, 'activity_date']) }}
{% endmacro %}
