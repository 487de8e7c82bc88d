{# The body of a dense daily fact (fct_user_activity_daily, fct_device_activity_daily):
   one row per client, `entity` and local day, from the entity's active_from_date
   (its dim) to the latest local day with valid activity anywhere, zero-filled, with
   the distinct count of `other` entities that day.

   Incremental: a pre-hook (`prune_dense_rows`) first deletes the rows a full build
   would no longer have: days after the latest active day (when it moved earlier) and,
   when an entity changed or a heartbeat left a partition since the last run, the rows
   of entities no longer under that client or before their (later) first day. Then a
   refresh writes only
     - the whole span of entities that have no row on their first day yet (new
       entities, moved entities, or a first day moved earlier by a late heartbeat),
     - every entity's days after the last day already built (the spine grew),
     - the (client, day) partitions fct_activity_daily rebuilt since this table was
       last written (`touched_partitions`: late heartbeats, and the partitions
       re-validated heartbeats left), for every entity of that client,
   and replaces those rows (delete+insert on the grain). Everything else is left
   alone, so the cost follows the new data, not the history.

   How the cost stays small on PostgreSQL (each was measured at 25M heartbeats, where
   a refresh of five minutes of data spent 7.8 s in each dense fact):
     - the watermarks (the last day built, the newest refreshed_at_utc) are read first,
       through indexes, and written into the SQL as literals, so the planner sees them;
     - fct_activity_daily is read where it is used, not through a CTE (a CTE used twice
       is materialized whole: 1.9M rows, then sorted on disk);
     - the incremental aggregate looks up each rewritten day through the fact's
       (client, entity, day) index (a lateral join), where a join on the spine planned
       a sort of the whole fact. DuckDB has no such index and hash-joins the spine
       against the fact's columns instead, which measured faster there. #}
{% macro dense_daily_activity(entity, other) %}
{%- set key = entity ~ '_id' -%}
{%- set other_key = other ~ '_id' -%}
{%- if is_incremental() -%}
  {%- set last_refreshed_at = max_timestamp('refreshed_at_utc', this) -%}
  {%- set last_built = date_literal('select max(activity_date) from ' ~ this)
      or 'cast(null as date)' -%}
  {%- set last_active = newest_activity_date() -%}
{%- endif -%}
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

{% if is_incremental() %}
touched_partitions as (

    {{ touched_partitions(last_refreshed_at) }}

),

last_day as (

    select {{ last_active }} as last_activity_date

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

    select max(activity_date) as last_activity_date from {{ ref('fct_activity_daily') }}

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
    inner join dates
        on dates.date_day >= spans.active_from_date
        and dates.date_day > {{ last_built }}
    where not spans.needs_full_span

),

touched_days as (

    select spans.client_id, spans.{{ key }}, touched_partitions.activity_date
    from spans
    inner join touched_partitions
        on touched_partitions.client_id = spans.client_id
        and touched_partitions.activity_date >= spans.active_from_date
        and touched_partitions.activity_date <= {{ last_built }}
        and touched_partitions.activity_date <= {{ last_active }}
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

{% if is_incremental() and target.type == 'postgres' %}
daily as (

    select
        spined.client_id,
        spined.{{ key }},
        spined.activity_date,
        {% for measure in measures -%}
        day_activity.{{ measure }},
        {% endfor -%}
        day_activity.{{ other }}_count
    from spined
    cross join lateral (
        select
            {% for measure in measures -%}
            sum(activity.{{ measure }}) as {{ measure }},
            {% endfor -%}
            count(distinct activity.{{ other_key }}) as {{ other }}_count
        from {{ ref('fct_activity_daily') }} as activity
        where activity.client_id = spined.client_id
            and activity.{{ key }} = spined.{{ key }}
            and activity.activity_date = spined.activity_date
    ) as day_activity

),
{% else %}
daily as (

    select
        activity.client_id,
        activity.{{ key }},
        activity.activity_date,
        {% for measure in measures -%}
        sum(activity.{{ measure }}) as {{ measure }},
        {% endfor -%}
        count(distinct activity.{{ other_key }}) as {{ other }}_count
    from {{ ref('fct_activity_daily') }} as activity
    {% if is_incremental() %}
    inner join spined
        on spined.client_id = activity.client_id
        and spined.{{ key }} = activity.{{ key }}
        and spined.activity_date = activity.activity_date
    {% endif %}
    group by activity.client_id, activity.{{ key }}, activity.activity_date

),
{% endif %}

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

{# The latest local day with valid activity anywhere (fct_activity_daily, already
   rebuilt in this run), as a date literal: where every dense span ends. #}
{% macro newest_activity_date() -%}
    {{- return(date_literal('select max(activity_date) from ' ~ ref('fct_activity_daily'))
        or 'cast(null as date)') -}}
{%- endmacro %}

{# A pre-hook of the dense facts' incremental runs: delete the rows a full build would
   not have. Days after the latest active day go every run (an index range on
   PostgreSQL; usually none). Rows of an entity no longer under that client, or
   before its first day, can only appear when such an entity that already had rows
   changed (moved, a new creation time, vanished), its client changed zone (local
   days move), or a heartbeat left a partition since this table was last written;
   only then does the hook compare the whole table with the dimension. Brand-new ids
   (`is_new_entity`) and entities of the other dense kind do not count: nearly every
   refresh delivers a new user, and it has no rows here to prune. #}
{% macro prune_dense_rows(entity) -%}
    {%- if is_incremental() -%}
    {%- set key = entity ~ '_id' -%}
    {%- set last_refreshed_at = max_timestamp('refreshed_at_utc', this) -%}
    {%- set last_active = newest_activity_date() -%}
    {%- set moved = run_query(
        'select count(*) from (select 1 from ' ~ ref('int_entity_versions')
        ~ ' where changed_at_utc > ' ~ last_refreshed_at
        ~ " and entity_type in ('" ~ entity ~ "', 'client')"
        ~ ' and not coalesce(is_new_entity, false)'
        ~ ' union all select 1 from ' ~ heartbeat_departures_relation()
        ~ ' where departed_at_utc > ' ~ last_refreshed_at ~ ') as changes'
    ).columns[0].values()[0] | int > 0 -%}
    delete from {{ this }} as dense
    where dense.activity_date > {{ last_active }}
        or {{ last_active }} is null
    {%- if moved %}
        or not exists (
            select 1
            from {{ ref('dim_' ~ entity ~ 's') }} as entities
            where entities.client_id = dense.client_id
                and entities.{{ key }} = dense.{{ key }}
                and entities.active_from_date <= dense.activity_date
        )
    {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
