{# Which raw heartbeats an incremental run of int_heartbeats_deduplicated must read,
   and the record that proves it missed none.

   Raw heartbeats are only ever added (by `daybook load` or written straight into raw),
   but they can be added with any received time. Each run reads every raw row received
   at or after a boundary, and records, before it reads, the boundary for the next
   run (the newest kept heartbeat minus `heartbeat_lookback_hours`) with the number of
   raw rows received before it (`daybook_meta.heartbeat_read_state`). The next run
   counts the rows before that boundary again: the same number means nothing older
   arrived, so reading from the boundary on sees every new row; another number (a
   backfill, a row written into raw by hand, a lost record) makes that run read all of
   raw. Rows added between the count and the read are read but not counted, so they
   only cause one extra full read, never a missed row. #}

{% macro heartbeat_read_state_relation() -%}
    {{- return(adapter.get_relation(
        database=this.database, schema='daybook_meta', identifier='heartbeat_read_state')) -}}
{%- endmacro %}

{# Where this incremental run must start reading raw heartbeats (received time), as a
   SQL literal: the boundary the previous run recorded when the count of raw rows
   before it is unchanged, else none (read all of raw). Runs queries: call it only at
   execution. #}
{% macro heartbeat_read_from(raw_heartbeats) -%}
    {%- set state = heartbeat_read_state_relation() -%}
    {%- if state is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set rows = run_query(
        'select boundary_utc, rows_before from ' ~ state ~ ' where state_id = 1').rows -%}
    {%- if rows | length != 1 or rows[0][0] is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set boundary = "cast('" ~ rows[0][0].strftime('%Y-%m-%d %H:%M:%S.%f')
        ~ "' as timestamp)" -%}
    {%- set now_before = run_query(
        'select count(*) from ' ~ raw_heartbeats
        ~ ' where received_at_utc < ' ~ boundary).rows[0][0] | int -%}
    {{- return(boundary if now_before == rows[0][1] | int else none) -}}
{%- endmacro %}

{# A pre-hook of int_heartbeats_deduplicated: record the next run's boundary (the
   newest heartbeat kept so far, or in raw for a full build, minus the lookback) and
   the raw rows received before it, counted before this run reads raw. It runs in the
   model's transaction, so a failed run leaves the previous record in place. #}
{% macro record_heartbeat_reads(raw_heartbeats) -%}
    {%- set newest = ('(select max(received_at_utc) from ' ~ this ~ ')') if is_incremental()
        else ('(select max(received_at_utc) from ' ~ raw_heartbeats ~ ')') -%}
    {%- set boundary = dbt.dateadd('hour', -1 * var('heartbeat_lookback_hours'), newest) -%}
    create schema if not exists daybook_meta;
    create table if not exists daybook_meta.heartbeat_read_state (
        state_id integer primary key,
        boundary_utc timestamp,
        rows_before bigint not null
    );
    delete from daybook_meta.heartbeat_read_state where state_id = 1;
    insert into daybook_meta.heartbeat_read_state (state_id, boundary_utc, rows_before)
    select 1, boundary_utc,
        (select count(*) from {{ raw_heartbeats }} where received_at_utc < boundary_utc)
    from (select cast({{ boundary }} as timestamp) as boundary_utc) as next_read
{%- endmacro %}

{# The one order of a heartbeat's copies, earliest first: received time, then every
   other column, so which copy counts never depends on the order rows were written in
   (full and incremental builds pick the same copy). #}
{% macro heartbeat_copy_order(prefix='') -%}
    {%- set columns = [
        'received_at_utc', 'generated_at_utc', 'total_activity_count',
        'chrome_activity_count', 'edge_activity_count', 'firefox_activity_count',
        'desktop_activity_count', 'web_accessibility_activity_count',
        'client_id', 'user_id', 'device_id',
    ] -%}
    {%- for column in columns -%}
        {{ prefix }}{{ column }} asc nulls last{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
