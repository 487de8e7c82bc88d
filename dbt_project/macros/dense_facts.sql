{# Macros of the dense daily facts (fct_user_activity_daily, fct_device_activity_daily):
   the day their spans end, and the pre-hook that prunes rows a full build would not
   have. #}

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
    {{ return(adapter.dispatch('prune_dense_rows', 'daybook')(entity)) }}
{%- endmacro %}

{% macro default__prune_dense_rows(entity) -%}
    {%- if is_incremental() -%}
    {%- set key = entity ~ '_id' -%}
    {%- set last_active = newest_activity_date() -%}
    {%- set moved = dense_rows_may_be_stale(entity) -%}
    delete from {{ this }} as dense
    where dense.activity_date > {{ last_active }}
        or {{ last_active }} is null
    {%- if moved %}
        or not exists (
            {{ dense_row_entity(entity, 'dense') }}
        )
    {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Spark: the dense facts are partitioned by month (`month_partition_column`), and a
    refresh overwrites each month it writes whole (`spark__dense_days_to_write`). A full
    build has rows on exactly the days from the earliest `active_from_date` to the latest
    active day (every span ends on that day), so every month the table holds entirely
    outside that range is dropped here; a month that holds rows outside it but also days
    inside it is rewritten whole by the refresh instead, which leaves those rows out. #}
{% macro spark__prune_dense_rows(entity) -%}
    {%- if is_incremental() -%}
    {%- set last_active = newest_activity_date() -%}
    {%- set first_active = first_active_from_date(entity) -%}
    {%- set outside = run_query(
        'select distinct cast(activity_month as string) from ' ~ this
        ~ ' where activity_month > ' ~ last_active ~ ' or ' ~ last_active ~ ' is null'
        ~ ' or add_months(activity_month, 1) <= ' ~ first_active
        ~ ' or ' ~ first_active ~ ' is null'
    ).columns[0].values() -%}
    {{ drop_partitions('activity_month', outside) }}
    {%- endif -%}
{%- endmacro %}

{# The earliest first day of any entity of this kind, as a date literal. #}
{% macro first_active_from_date(entity) -%}
    {{- return(date_literal(
        'select min(active_from_date) from ' ~ ref('dim_' ~ entity ~ 's'))
        or 'cast(null as date)') -}}
{%- endmacro %}

{# Whether rows of this dense table may belong to no entity any more (moved to another
   client, vanished, or now before its first day): only when an entity of that kind (or
   a client) that already had rows changed since this table was last written, or a
   heartbeat left a partition. Brand-new ids (`is_new_entity`) do not count: nearly
   every refresh delivers a new user, and it has no rows here yet. Runs a query: call it
   only at execution. #}
{% macro dense_rows_may_be_stale(entity, last_refreshed_at=none) -%}
    {%- set last_refreshed_at = last_refreshed_at or max_timestamp('refreshed_at_utc', this) -%}
    {{- return(run_query(
        'select count(*) from (select 1 from ' ~ ref('int_entity_versions')
        ~ ' where changed_at_utc > ' ~ last_refreshed_at
        ~ " and entity_type in ('" ~ entity ~ "', 'client')"
        ~ ' and not coalesce(is_new_entity, false)'
        ~ ' union all select 1 from ' ~ heartbeat_departures_relation()
        ~ ' where departed_at_utc > ' ~ last_refreshed_at ~ ') as changes'
    ).columns[0].values()[0] | int > 0) -}}
{%- endmacro %}

{# A subquery finding the dimension row a dense row (alias `dense`) belongs to: the same
   client and entity, on or after its first day. A dense row without one is one a full
   build would not have. #}
{% macro dense_row_entity(entity, dense) -%}
    select 1
    from {{ ref('dim_' ~ entity ~ 's') }} as entities
    where entities.client_id = {{ dense }}.client_id
        and entities.{{ entity }}_id = {{ dense }}.{{ entity }}_id
        and entities.active_from_date <= {{ dense }}.activity_date
{%- endmacro %}

{# The (client, entity, day) rows a dense fact's refresh writes, from `parts`, the
   model's CTEs naming them (full spans of new entities, days after the last built one,
   touched days). `watermarks` holds the literals the model read first (`last_active`,
   `last_built`, `last_refreshed_at`), so no version reads them again. Elsewhere exactly
   those rows (delete+insert on the grain replaces them). #}
{% macro dense_days_to_write(entity, parts, watermarks) -%}
    {{ return(adapter.dispatch('dense_days_to_write', 'daybook')(entity, parts, watermarks)) }}
{%- endmacro %}

{% macro default__dense_days_to_write(entity, parts, watermarks) -%}
    {%- for part in parts %}
    select * from {{ part }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Spark: whole months instead, every entity's row on each day of each month the refresh
    must rewrite, found first (`dense_months_to_write`) and written into the statement as
    day ranges. The months are those the parts' days fall in, and those holding a row a
    full build would not have (`spark__prune_dense_rows` drops the months wholly outside
    the range a full build covers; a month's overwrite drops the rest). So the statement
    reads neither this table nor the parts: Spark plans a CTE again at every reference,
    and each reference of `spans` joined the entities to this table (about fourteen full
    reads of it per refresh, through `dates`, the parts and `activity_on_days`). #}
{% macro spark__dense_days_to_write(entity, parts, watermarks) -%}
    {%- set key = entity ~ '_id' -%}
    {%- set months = dense_months_to_write(entity, watermarks) -%}
    select entities.client_id, entities.{{ key }}, dim_dates.date_day as activity_date
    from {{ ref('dim_' ~ entity ~ 's') }} as entities
    inner join {{ ref('dim_dates') }} as dim_dates
        on dim_dates.date_day >= entities.active_from_date
        and dim_dates.date_day <= {{ watermarks.last_active }}
    where {{ days_in_months('dim_dates.date_day', months) }}
{%- endmacro %}

{# The months (first days, as 'YYYY-MM-DD' text) a Spark refresh of a dense fact
   rewrites, by one query run now. A month is rewritten whole with exactly a full build's
   rows for it, so a month named here that did not need it costs time, never answers;
   every month that changes must be named:
   - from the earliest first day of an entity with no row on that day (new, moved, or
     its first day moved earlier: its whole span is written) to the latest active day;
   - after the last day built, to the latest active day (every entity gains those days);
   - each month a heartbeat validated or departed since this table was last written
     touches (`touched_partitions`);
   - each month holding a row outside the range a full build covers, or, when an entity
     changed (`dense_rows_may_be_stale`), a row that belongs to no entity now. #}
{% macro dense_months_to_write(entity, watermarks) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set key = entity ~ '_id' -%}
    {%- set last_active = watermarks.last_active -%}
    {%- set last_built = watermarks.last_built -%}
    {%- set first_active = first_active_from_date(entity) -%}
    {%- set months_sql -%}
    select distinct cast(month as string)
    from (
        select explode(sequence(
            {{ month_of('case when first_day <= ' ~ last_active ~ ' then first_day end') }},
            {{ month_of(last_active) }},
            interval 1 month
        )) as month
        from (
            select min(entities.active_from_date) as first_day
            from {{ ref('dim_' ~ entity ~ 's') }} as entities
            left anti join {{ this }} as first_row
                on first_row.client_id = entities.client_id
                and first_row.{{ key }} = entities.{{ key }}
                and first_row.activity_date = entities.active_from_date
            where entities.active_from_date is not null
        ) as unwritten_spans
        union all
        select explode(sequence(
            {{ month_of('case when ' ~ last_built ~ ' < ' ~ last_active
                ~ ' then date_add(' ~ last_built ~ ', 1) end') }},
            {{ month_of(last_active) }},
            interval 1 month
        )) as month
        union all
        select {{ month_of('touched.activity_date') }} as month
        from ({{ touched_partitions(watermarks.last_refreshed_at) }}) as touched
        union all
        select outside.activity_month as month
        from {{ this }} as outside
        where outside.activity_date > {{ last_active }}
            or outside.activity_date < {{ first_active }}
        {%- if dense_rows_may_be_stale(entity, watermarks.last_refreshed_at) %}
        union all
        select dense.activity_month as month
        from {{ this }} as dense
        where not exists (
            {{ dense_row_entity(entity, 'dense') }}
        )
        {%- endif %}
    ) as months
    where month is not null
    {%- endset -%}
    {{ return(run_query(months_sql).columns[0].values() | list) }}
{%- endmacro %}
