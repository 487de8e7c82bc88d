{# Which raw heartbeats an incremental run of int_heartbeats_deduplicated must read,
   and the record that proves it missed none.

   Raw heartbeats are only ever added (by `daybook load` or written straight into raw),
   but they can be added with any received time. Each run reads every raw row received
   at or after a boundary, and records, before it reads, the boundary for the next
   run (the newest kept heartbeat, capped at the run's start, minus
   `heartbeat_lookback_hours`) with the number of raw rows received before it
   (`daybook_meta.heartbeat_read_state`). The next run counts the rows before that
   boundary again: the same number means nothing older arrived, so reading from the
   boundary on sees every new row; another number (a backfill, a row written into raw
   by hand, a lost record) makes that run read all of raw. Rows a concurrent load
   commits between these counts and the read cost at most one extra full read, never a
   missed row: see `record_heartbeat_reads`. #}

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

{# A pre-hook of int_heartbeats_deduplicated: check again what `heartbeat_read_from`
   checked, and record the next run's boundary B2 with the raw rows received before it.

   The boundary is the newest heartbeat kept so far (or in raw, for a full build) minus
   the lookback, the newest capped at this run's start: one heartbeat received days in
   the future must not put the boundary in the future (every later run would then find
   rows "arriving" before it and read all of raw).

   Why the check is repeated here, in the same statement as the count it records: the
   compile-time check counted the rows received before the old boundary B1 and found
   the recorded number, so the model reads from B1. A `daybook load` may commit a row
   received before B1 after that count; the model would not read it (it reads from B1),
   and a count before B2 taken later would include it, so no later run would read it
   either. Hence ONE statement (one snapshot on PostgreSQL) counts the rows before B1
   and before B2, and records the count before B2 only when the count before B1 is
   still the recorded one, the value the compile-time check verified (rows are only
   added, so the count cannot have dropped in between). Otherwise it records no
   boundary, which makes the next run read all of raw. Every case:
     - a row committed before the compile-time check: that check mismatches, the model
       reads all of raw (and this check mismatches too: one extra full read next run);
     - a row received before B1 committed between the check and this statement: this
       count mismatches, the next run reads all of raw;
     - a row received before B1 committed after this statement, before the model reads:
       not counted in the record, so the next run's count before B2 (B2 >= its receipt
       time, or else the next run reads from B2 and sees it) mismatches: it reads all;
     - a row received at or after B1 committed before the model reads: the model reads it.
   When the previous record has no boundary (none yet, or forced) or this is a full
   build, the model reads all of raw, so the count before B2 is recorded as is.
   It runs in the model's transaction, so a failed run leaves the previous record. #}
{% macro record_heartbeat_reads(raw_heartbeats) -%}
    {{ return(adapter.dispatch('record_heartbeat_reads', 'daybook')(raw_heartbeats)) }}
{%- endmacro %}

{% macro default__record_heartbeat_reads(raw_heartbeats) -%}
    {%- set newest = ('(select max(received_at_utc) from ' ~ this ~ ')') if is_incremental()
        else ('(select max(received_at_utc) from ' ~ raw_heartbeats ~ ')') -%}
    {%- set capped = 'least(' ~ newest ~ ', ' ~ run_timestamp() ~ ')' -%}
    {%- set boundary = dbt.dateadd('hour', -1 * var('heartbeat_lookback_hours'), capped) -%}
    create schema if not exists daybook_meta;
    create table if not exists daybook_meta.heartbeat_read_state (
        state_id integer primary key,
        boundary_utc timestamp,
        rows_before bigint not null
    );
    insert into daybook_meta.heartbeat_read_state (state_id, boundary_utc, rows_before)
    select 1, cast(null as timestamp), 0
    where not exists (select 1 from daybook_meta.heartbeat_read_state where state_id = 1);
    update daybook_meta.heartbeat_read_state
    set
        boundary_utc = case when checked.verified then checked.next_boundary end,
        rows_before = case when checked.verified then checked.next_rows_before else 0 end
    from (
        select
            next_read.boundary_utc as next_boundary,
            {% if is_incremental() -%}
            {#- rows before B2 = rows before B1 + rows in [B1, B2) when B2 >= B1 (the usual
                case: the newest heartbeat only moves on), in this one snapshot: one count
                over the history instead of two #}
            case
                when previous.boundary_utc is not null
                    and next_read.boundary_utc >= previous.boundary_utc
                    then previous.rows_now + (
                        select count(*) from {{ raw_heartbeats }} as raw_row
                        where raw_row.received_at_utc >= previous.boundary_utc
                            and raw_row.received_at_utc < next_read.boundary_utc
                    )
                else (
                    select count(*) from {{ raw_heartbeats }} as raw_row
                    where raw_row.received_at_utc < next_read.boundary_utc
                )
            end as next_rows_before,
            (previous.boundary_utc is null or previous.rows_before = previous.rows_now)
            {%- else -%}
            (
                select count(*) from {{ raw_heartbeats }} as raw_row
                where raw_row.received_at_utc < next_read.boundary_utc
            ) as next_rows_before,
            true
            {%- endif %} as verified
        from (select cast({{ boundary }} as timestamp) as boundary_utc) as next_read
        cross join (
            select
                state.boundary_utc,
                state.rows_before
                {%- if is_incremental() %},
                {#- the rows before B1 now, counted once (`offset 0` keeps PostgreSQL from
                    copying this subquery into each of its two uses) #}
                (
                    select count(*) from {{ raw_heartbeats }} as raw_row
                    where raw_row.received_at_utc < state.boundary_utc
                ) as rows_now
                {%- endif %}
            from daybook_meta.heartbeat_read_state as state
            where state.state_id = 1
            offset 0
        ) as previous
    ) as checked
    where state_id = 1
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

{#- Spark: the same counts and the same check, but without transactions. Spark cannot
    UPDATE a parquet table, nor overwrite a table it reads in the same statement, so
    the values are read first (`run_query`, as this hook renders) and written as
    literals. And a failed model cannot roll this hook back, so the new boundary is
    written as a pending row (`state_id = 2`) beside the current one, and
    `commit_heartbeat_reads`, a post-hook that runs only after the model wrote its
    rows, makes it current. A run that fails leaves the previous record, whose
    boundary the next run verifies again. The counts are still taken before the model
    reads raw, so a row loaded meanwhile costs a full read, never a lost row. #}
{% macro spark__record_heartbeat_reads(raw_heartbeats) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set state = heartbeat_read_state_ddl() -%}
    {%- set newest = ('(select max(received_at_utc) from ' ~ this ~ ')') if is_incremental()
        else ('(select max(received_at_utc) from ' ~ raw_heartbeats ~ ')') -%}
    {%- set capped = 'least(' ~ newest ~ ', ' ~ run_timestamp() ~ ')' -%}
    {%- set boundary = dbt.dateadd('hour', -1 * var('heartbeat_lookback_hours'), capped) -%}
    {%- set previous = run_query(
        'select boundary_utc, rows_before from ' ~ state ~ ' where state_id = 1').rows -%}
    {%- set previous_boundary = previous[0][0] if previous | length == 1 else none -%}
    {%- set previous_rows = previous[0][1] | int if previous | length == 1 else 0 -%}
    {%- set verified = true -%}
    {%- if is_incremental() and previous_boundary is not none -%}
        {%- set rows_now = run_query(
            'select count(*) from ' ~ raw_heartbeats ~ ' where received_at_utc < '
            ~ timestamp_text(previous_boundary)).rows[0][0] | int -%}
        {%- set verified = rows_now == previous_rows -%}
    {%- endif -%}
    {%- set next = run_query(
        'select next_read.boundary_utc, (select count(*) from ' ~ raw_heartbeats
        ~ ' as raw_row where raw_row.received_at_utc < next_read.boundary_utc)'
        ~ ' from (select cast(' ~ boundary ~ ' as timestamp) as boundary_utc) as next_read'
    ).rows[0] -%}
    insert overwrite table {{ state }}
    select 1, {{ timestamp_text(previous_boundary) }}, {{ previous_rows }}
    union all
    select
        2,
        {{ timestamp_text(next[0] if verified else none) }},
        {{ next[1] | int if verified else 0 }}
{%- endmacro %}

{# A post-hook of int_heartbeats_deduplicated: make the read record the pre-hook left
   pending current, now that the model's rows are written. Nothing where the pre-hook
   ran in the model's transaction. #}
{% macro commit_heartbeat_reads() -%}
    {{ return(adapter.dispatch('commit_heartbeat_reads', 'daybook')()) }}
{%- endmacro %}

{% macro default__commit_heartbeat_reads() -%}
{%- endmacro %}

{% macro spark__commit_heartbeat_reads() -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set state = heartbeat_read_state_ddl() -%}
    {%- set pending = run_query(
        'select boundary_utc, rows_before from ' ~ state ~ ' where state_id = 2').rows -%}
    {%- if pending | length == 1 -%}
    insert overwrite table {{ state }}
    select 1, {{ timestamp_text(pending[0][0]) }}, {{ pending[0][1] | int }}
    {%- endif -%}
{%- endmacro %}

{# Spark: create daybook_meta.heartbeat_read_state when missing (now, as the hook
   renders: a hook runs one statement on Spark) and return its name. #}
{% macro heartbeat_read_state_ddl() -%}
    {%- do run_query('create schema if not exists daybook_meta') -%}
    {%- do run_query(
        'create table if not exists daybook_meta.heartbeat_read_state'
        ~ ' (state_id int, boundary_utc timestamp, rows_before bigint) using parquet') -%}
    {{- return('daybook_meta.heartbeat_read_state') -}}
{%- endmacro %}

{# A timestamp value read back from the warehouse as a SQL literal (null for none). #}
{% macro timestamp_text(value) -%}
    {{- return("cast(null as timestamp)" if value is none
        else "cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") -}}
{%- endmacro %}
