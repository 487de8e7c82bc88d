{# The (client_id, activity_date) partitions that heartbeats validated after
   `watermark` touch: where each valid one counts now, and every partition one
   counted in before a rewrite after `watermark` (`heartbeat_departures`: an earlier
   copy, a moved user or device, a changed time zone rewrote a heartbeat that was
   valid). The facts rebuild exactly these. The first half reads
   `int_heartbeats_validated` through its `processed_at_utc` index on PostgreSQL. #}
{% macro touched_partitions(watermark) -%}
    select client_id, activity_date
    from {{ ref('int_heartbeats_validated') }}
    where processed_at_utc > {{ watermark }}
        and is_valid
    union
    select client_id, activity_date
    from {{ heartbeat_departures_relation() }}
    where departed_at_utc > {{ watermark }}
{%- endmacro %}

{# Every (client, local day) a valid heartbeat left when `int_heartbeats_validated`
   rewrote it, with that run's start: appended by the model's post-hook
   (`record_heartbeat_departures`), in its transaction.

   Why not only the row's `previous_*`: they hold the state just before the latest
   rewrite. If the model rewrites a heartbeat twice (A to B, then B to C) while a fact
   did not run in between (killed, or skipped after a failing test), that fact still
   counts it in A, which the row no longer names. And the facts run at different
   watermarks (the dense ones can fail after fct_activity_daily succeeded), so no
   single "older previous" is right for all of them. Each fact reads the departures
   after its own watermark: A and B for one that last ran before both rewrites, B for
   one that ran in between. One row per distinct partition and run, so a zone change
   over millions of heartbeats adds as many rows as days it moved. #}
{% macro heartbeat_departures_relation() -%}
    daybook_meta.heartbeat_departures
{%- endmacro %}

{% macro record_heartbeat_departures() -%}
    {{ return(adapter.dispatch('record_heartbeat_departures', 'daybook')()) }}
{%- endmacro %}

{% macro default__record_heartbeat_departures() -%}
    create schema if not exists daybook_meta;
    create table if not exists {{ heartbeat_departures_relation() }} (
        client_id {{ dbt.type_string() }},
        activity_date date not null,
        departed_at_utc timestamp not null
    );
    {{ index_meta_table(heartbeat_departures_relation(), 'heartbeat_departures_departed',
        'departed_at_utc') }}
    insert into {{ heartbeat_departures_relation() }} (client_id, activity_date, departed_at_utc)
    select distinct previous_client_id, previous_activity_date, processed_at_utc
    from {{ this }}
    where processed_at_utc = {{ run_timestamp() }}
        and previous_activity_date is not null
{%- endmacro %}

{# Spark: a hook runs one statement, so the schema and table are created as the hook
   renders, and the hook appends the rows (an append needs no DELETE). #}
{% macro spark__record_heartbeat_departures() -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- do run_query('create schema if not exists daybook_meta') -%}
    {%- do run_query('create table if not exists ' ~ heartbeat_departures_relation()
        ~ ' (client_id string, activity_date date, departed_at_utc timestamp) using parquet') -%}
    insert into {{ heartbeat_departures_relation() }}
    select distinct previous_client_id, previous_activity_date, processed_at_utc
    from {{ this }}
    where processed_at_utc = {{ run_timestamp() }}
        and previous_activity_date is not null
{%- endmacro %}

{# A pre-hook of fct_activity_daily's incremental runs: delete the partitions this run
   rebuilds, so one that lost every heartbeat ends empty. It reads the same watermark
   as the model (the table is not written between the two). #}
{% macro delete_touched_partitions() -%}
    {{ return(adapter.dispatch('delete_touched_partitions', 'daybook')()) }}
{%- endmacro %}

{% macro default__delete_touched_partitions() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as fact
    where exists (
        select 1
        from ({{ touched_partitions(max_timestamp('refreshed_at_utc', this)) }}) as touched
        where touched.client_id = fact.client_id
            and touched.activity_date = fact.activity_date
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Spark: the fact is partitioned by month and a refresh overwrites each touched month
    whole (`spark__valid_heartbeats_in_partitions`), so only a touched month left with no
    valid heartbeat at all needs this hook: the overwrite writes nothing there, so it is
    dropped. #}
{% macro spark__delete_touched_partitions() -%}
    {%- if is_incremental() -%}
    {%- set emptied = [] -%}
    {%- for month in touched_months() -%}
        {%- set left = run_query(
            'select count(*) from (select 1 from ' ~ ref('int_heartbeats_validated')
            ~ ' as validated where validated.is_valid and '
            ~ days_in_months('validated.activity_date', [month]) ~ ' limit 1) as kept'
        ).columns[0].values()[0] -%}
        {%- if left | int == 0 %}{% do emptied.append(month) %}{% endif -%}
    {%- endfor -%}
    {{ drop_partitions('activity_month', emptied) }}
    {%- endif -%}
{%- endmacro %}

{# Spark, in fct_activity_daily's refresh: the first days (as 'YYYY-MM-DD' text) of the
   months holding a (client, day) partition `touched_partitions` names since the fact
   was last written. #}
{% macro touched_months() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {{ return(run_query(
        'select distinct cast(' ~ month_of('touched.activity_date') ~ ' as string) from ('
        ~ touched_partitions(max_timestamp('refreshed_at_utc', this)) ~ ') as touched'
        ~ ' where touched.activity_date is not null'
    ).columns[0].values() | list) }}
{%- endmacro %}

{# A predicate: `day` lies in one of `months` (first days as text), as day ranges a
   reader prunes day partitions by; false when there are none. Consecutive months make
   one range: a refresh that rewrites a long span (an entity's first day decades back, a
   device clock set a century ahead) names one range, not a term a month (1,572 terms
   for 1969-2100 made Spark test each day of the span against every one: each dense
   fact's overwrite took 88 s, 44 s with one range, in tests/warehouse's dates test). #}
{% macro days_in_months(day, months) -%}
    {%- set indexes = [] -%}
    {%- for month in months -%}
        {%- do indexes.append((month[0:4] | int) * 12 + (month[5:7] | int) - 1) -%}
    {%- endfor -%}
    {%- set ranges = [] -%}
    {%- for index in indexes | unique | sort -%}
        {%- if ranges and ranges[-1].end == index -%}
            {%- do ranges[-1].update({'end': index + 1}) -%}
        {%- else -%}
            {%- do ranges.append({'first': index, 'end': index + 1}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ranges | length == 0 -%}
    false
    {%- else -%}
    ({% for span in ranges -%}
        ({{ day }} >= {{ month_start(span.first) }} and {{ day }} < {{ month_start(span.end) }})
        {{- ' or ' if not loop.last }}
    {%- endfor %})
    {%- endif -%}
{%- endmacro %}

{# The date literal of the first day of month `index` (year * 12 + month - 1). #}
{% macro month_start(index) -%}
    date'{{ '%04d-%02d-01' | format(index // 12, index % 12 + 1) }}'
{%- endmacro %}
