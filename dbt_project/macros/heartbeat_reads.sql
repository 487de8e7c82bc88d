{# Which raw heartbeats an incremental run of int_heartbeats_deduplicated must read,
   and the record that proves it missed none.

   Raw heartbeats are only ever added (by `daybook load` or written straight into raw),
   but they can be added with any received time. Each run reads every raw row received
   at or after a boundary. Before it reads, it records two checkpoints for the next
   run in `daybook_meta.heartbeat_read_state`, each a received time with the number of
   raw rows received before it:
     - tight (`state_id` 3): the newest raw heartbeat (capped at the run's start), so
       the next run reads only what arrived since, the usual five minutes;
     - lookback (`state_id` 1): the tight one minus `heartbeat_lookback_hours`.
   The next run counts the rows before each again. The same number before the tight
   checkpoint means nothing older arrived: it reads from there. Else the same number
   before the lookback one means the older arrivals are recent (a delivery loaded out
   of order): it reads from there. Else (a backfill, a row written into raw by hand, a
   lost record) it reads all of raw. Rows a concurrent load commits between these
   counts and the read cost at most one wider read, never a missed row: see
   `record_heartbeat_reads`.

   Why two: with the lookback alone every run read 72 hours of raw again and looked
   each of those ids up among the kept heartbeats, to find the copy it had already
   kept (at 100M heartbeats, 7,800 rows read again for 2,775 new ones in the bench's
   history, and 72 hours of a real year's deliveries are about 800,000 rows).

   Over 300 lines on purpose: recording the checkpoints, choosing where to read from and
   making the record current are one protocol, each half of it reasoned about against
   the other (what a concurrent load can do between them), with each adapter's version
   beside the portable one. #}

{% macro heartbeat_read_state_relation() -%}
    {{- return(adapter.get_relation(
        database=this.database, schema='daybook_meta', identifier='heartbeat_read_state')) -}}
{%- endmacro %}

{# The checkpoints of the read state as {state_id: (boundary, rows_before)}, for
   `state_ids`; a missing row or one without a boundary is left out. #}
{% macro heartbeat_checkpoints(state, state_ids) -%}
    {%- set found = {} -%}
    {%- for row in run_query(
        'select state_id, boundary_utc, rows_before from ' ~ state
        ~ ' where state_id in (' ~ state_ids | join(', ') ~ ')').rows -%}
        {%- if row[1] is not none -%}
            {%- do found.update({row[0] | int: (row[1], row[2] | int)}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(found) -}}
{%- endmacro %}

{# A scalar subquery: how many raw heartbeats were received before `bound` (a SQL
   timestamp). Counted directly where an index answers it (PostgreSQL) or nothing
   prunes (Spark). #}
{% macro raw_rows_before(raw_heartbeats, bound) -%}
    {{ return(adapter.dispatch('raw_rows_before', 'daybook')(raw_heartbeats, bound)) }}
{%- endmacro %}

{% macro default__raw_rows_before(raw_heartbeats, bound) -%}
    (select count(*) from {{ raw_heartbeats }} where received_at_utc < {{ bound }})
{%- endmacro %}

{#- DuckDB: every row, less those received from `bound` on and those without a received
    time. The table's row count is metadata and the other two counts read only the
    row groups that can hold such rows, where counting those before `bound` read the
    received time of every heartbeat: 0.70 s at 100M heartbeats in a new process (as
    each dbt run is) against 0.03 s. #}
{% macro duckdb__raw_rows_before(raw_heartbeats, bound) -%}
    (
        (select count(*) from {{ raw_heartbeats }})
        - (select count(*) from {{ raw_heartbeats }} where received_at_utc >= {{ bound }})
        - (select count(*) from {{ raw_heartbeats }} where received_at_utc is null)
    )
{%- endmacro %}

{# A scalar subquery: how many raw heartbeats were received from `start` (included)
   to `end` (excluded), both SQL timestamps; every warehouse prunes this to the rows
   between them. #}
{% macro raw_rows_between(raw_heartbeats, start, end) -%}
    (
        select count(*) from {{ raw_heartbeats }}
        where received_at_utc >= {{ start }} and received_at_utc < {{ end }}
    )
{%- endmacro %}

{# Where this incremental run must start reading raw heartbeats (received time), as a
   SQL literal: the tight checkpoint when the raw rows before it are as many as
   recorded, else the lookback one on the same condition, else none (read all of
   raw). One count over the history: the count before the lookback checkpoint is the
   one before the tight checkpoint less the rows between them. Runs queries: call it
   only at execution. #}
{% macro heartbeat_read_from(raw_heartbeats) -%}
    {%- set state = heartbeat_read_state_relation() -%}
    {%- if state is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set checkpoints = heartbeat_checkpoints(state, [3, 1]) -%}
    {%- set tight = checkpoints.get(3) -%}
    {%- set lookback = checkpoints.get(1) -%}
    {%- if lookback is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set lookback_from = timestamp_text(lookback[0]) -%}
    {%- if tight is none -%}
        {%- set now_before = run_query(
            'select ' ~ raw_rows_before(raw_heartbeats, lookback_from)).rows[0][0] | int -%}
        {{- return(lookback_from if now_before == lookback[1] else none) -}}
    {%- endif -%}
    {%- set tight_from = timestamp_text(tight[0]) -%}
    {#- two counts, not one with a `case` (that read every row's received time) #}
    {%- set counts = run_query(
        'select ' ~ raw_rows_before(raw_heartbeats, tight_from) ~ ', '
        ~ raw_rows_between(raw_heartbeats, lookback_from, tight_from)
    ).rows[0] -%}
    {%- if counts[0] | int == tight[1] -%}
        {{- return(tight_from) -}}
    {%- endif -%}
    {{- return(lookback_from if (counts[0] | int) - (counts[1] | int) == lookback[1] else none) -}}
{%- endmacro %}

{# A pre-hook of int_heartbeats_deduplicated: check again what `heartbeat_read_from`
   checked, and record the next run's checkpoints with the raw rows received before
   each, in one statement (one snapshot on PostgreSQL).

   The tight checkpoint T2 is the newest raw heartbeat, capped at this run's start:
   one heartbeat received days in the future must not put it in the future (every
   later run would then find rows "arriving" before it and read more). The lookback
   one is L2 = T2 minus the lookback. Either is correct to read from next time only if
   every raw row received before it now has been read, by this run or an earlier one.
   This run reads every row received from its boundary on (the model runs after this
   hook, in its transaction), so that holds when the rows before this run's own
   boundary are still those earlier runs read: their count is still the recorded one.

   The compile-time check chose the boundary, and a `daybook load` may commit a row
   between that check and this statement. So this statement counts again, and:
     - the count before the previous tight checkpoint T1 is unchanged: the run reads
       from T1 (it was unchanged at compile time too; rows are only added) and missed
       nothing: record T2 and L2;
     - there was no T1 and the count before L1 is unchanged: the run reads from L1:
       record T2 and L2;
     - T1 changed but L1 did not: the run reads from T1 or L1 (the compile-time check
       may have seen T1 unchanged) and may miss rows received in [L1, T1): keep L1 and
       its count, drop T1, so the next run reads from L1 (the case above);
     - L1 changed, or there is no record, or this is a full build: the run reads all
       of raw when nothing was recorded or on a full build (record T2 and L2), else it
       may have missed rows before L1: record nothing, so the next run reads all.
   It runs in the model's transaction, so a failed run leaves the previous record. #}
{% macro record_heartbeat_reads(raw_heartbeats) -%}
    {{ return(adapter.dispatch('record_heartbeat_reads', 'daybook')(raw_heartbeats)) }}
{%- endmacro %}

{% macro default__record_heartbeat_reads(raw_heartbeats) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {#- The checkpoints and the next ones are read as this hook renders and written as
        literals, so every count below has constant bounds and is pruned by raw's
        min/max (counts bounded by a column of another table were joins over the
        whole history: 3.9 s at 100M heartbeats). Only this hook writes the state, so
        the values read now are the ones the statement replaces. The counts that
        decide are still taken in the statement, in the model's transaction. #}
    {%- set state = heartbeat_read_state_relation() -%}
    {%- set recorded = heartbeat_checkpoints(state, [1, 3])
        if state is not none and is_incremental() else {} -%}
    {%- set lookback, tight = recorded.get(1), recorded.get(3) -%}
    {%- set newest = run_query(
        'select least(max(received_at_utc), ' ~ run_timestamp() ~ ') from ' ~ raw_heartbeats
    ).rows[0][0] -%}
    {%- set next_lookback = none if newest is none
        else newest - modules.datetime.timedelta(hours=var('heartbeat_lookback_hours')) -%}
    create schema if not exists daybook_meta;
    create table if not exists daybook_meta.heartbeat_read_state (
        state_id integer primary key,
        boundary_utc timestamp,
        rows_before bigint not null
    );
    insert into daybook_meta.heartbeat_read_state (state_id, boundary_utc, rows_before)
    select missing.state_id, cast(null as timestamp), 0
    from (select 1 as state_id union all select 3) as missing
    where not exists (
        select 1 from daybook_meta.heartbeat_read_state as state
        where state.state_id = missing.state_id
    );
    update daybook_meta.heartbeat_read_state
    set
        boundary_utc = case
            when decided.outcome = 'record' and state_id = 3
                then {{ timestamp_text(newest) }}
            when decided.outcome = 'record' then {{ timestamp_text(next_lookback) }}
            when decided.outcome = 'keep lookback' and state_id = 1 then boundary_utc
        end,
        rows_before = case
            when decided.outcome = 'record' and state_id = 3 then decided.rows_before_tight
            when decided.outcome = 'record' then decided.rows_before_lookback
            when decided.outcome = 'keep lookback' and state_id = 1 then rows_before
            else 0
        end
    from (
        select
            counted.rows_before_lookback,
            {% if newest is none -%}
            cast(null as bigint) as rows_before_tight,
            'forget' as outcome
            {%- else -%}
            counted.rows_before_lookback + {{ raw_rows_between(raw_heartbeats,
                timestamp_text(next_lookback), timestamp_text(newest)) }} as rows_before_tight,
            {% if lookback is none -%}
            'record'
            {%- elif tight is not none -%}
            case
                when counted.rows_now_tight = {{ tight[1] }} then 'record'
                when counted.rows_now_lookback = {{ lookback[1] }} then 'keep lookback'
                else 'forget'
            end
            {%- else -%}
            case when counted.rows_now_lookback = {{ lookback[1] }} then 'record' else 'forget' end
            {%- endif %} as outcome
            {%- endif %}
        from (
            select
                now_counted.*,
                {#- rows before L2 = rows before L1 + rows in [L1, L2) when L2 >= L1 (the
                    usual case: the newest heartbeat only moves on): one count over the
                    history instead of two #}
                {% if newest is none -%}
                cast(null as bigint)
                {%- elif lookback is not none and next_lookback >= lookback[0] -%}
                now_counted.rows_now_lookback + {{ raw_rows_between(raw_heartbeats,
                    timestamp_text(lookback[0]), timestamp_text(next_lookback)) }}
                {%- else -%}
                {{ raw_rows_before(raw_heartbeats, timestamp_text(next_lookback)) }}
                {%- endif %} as rows_before_lookback
            from (
                select
                    {% if lookback is none -%}
                    cast(null as bigint) as rows_now_lookback,
                    cast(null as bigint) as rows_now_tight
                    {%- else -%}
                    lookback_counted.rows_now_lookback,
                    {% if tight is none -%}
                    cast(null as bigint)
                    {%- else -%}
                    lookback_counted.rows_now_lookback + {{ raw_rows_between(raw_heartbeats,
                        timestamp_text(lookback[0]), timestamp_text(tight[0])) }}
                    {%- endif %} as rows_now_tight
                from (
                    select {{ raw_rows_before(raw_heartbeats, timestamp_text(lookback[0])) }}
                        as rows_now_lookback
                ) as lookback_counted
                    {%- endif %}
                offset 0
            ) as now_counted
        ) as counted
    ) as decided
    where state_id in (1, 3)
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

{#- Spark: the same counts and the same decision, but without transactions. Spark
    cannot UPDATE a parquet table, nor overwrite a table it reads in the same
    statement, so the values are read first (`run_query`, as this hook renders) and
    written as literals. And a failed model cannot roll this hook back, so the new
    checkpoints are written as pending rows (`state_id` 2 for the lookback one, 4 for
    the tight one) beside the current ones, and `commit_heartbeat_reads`, a post-hook
    that runs only after the model wrote its rows, makes them current. A run that fails
    leaves the previous record, which the next run verifies again. The counts are
    still taken before the model reads raw, so a row loaded meanwhile costs a wider
    read, never a lost row. #}
{% macro spark__record_heartbeat_reads(raw_heartbeats) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set state = heartbeat_read_state_ddl() -%}
    {%- set recorded = heartbeat_checkpoints(state, [1, 3]) -%}
    {%- set lookback = recorded.get(1, (none, 0)) -%}
    {%- set tight = recorded.get(3, (none, 0)) -%}
    {%- set outcome = 'record' -%}
    {%- if is_incremental() and lookback[0] is not none -%}
        {%- set counts = run_query(
            'select (select count(*) from ' ~ raw_heartbeats ~ ' where received_at_utc < '
            ~ timestamp_text(lookback[0]) ~ '), (select count(*) from ' ~ raw_heartbeats
            ~ ' where received_at_utc < ' ~ timestamp_text(tight[0]) ~ ')').rows[0] -%}
        {%- set lookback_held = counts[0] | int == lookback[1] -%}
        {%- if tight[0] is not none and counts[1] | int == tight[1] -%}
            {%- set outcome = 'record' -%}
        {%- elif tight[0] is none and lookback_held -%}
            {%- set outcome = 'record' -%}
        {%- elif lookback_held -%}
            {%- set outcome = 'keep lookback' -%}
        {%- else -%}
            {%- set outcome = 'forget' -%}
        {%- endif -%}
    {%- endif -%}
    {%- set tight_next = 'least((select max(received_at_utc) from ' ~ raw_heartbeats ~ '), '
        ~ run_timestamp() ~ ')' -%}
    {%- set next = run_query(
        'select next_read.tight_utc, next_read.lookback_utc,'
        ~ ' (select count(*) from ' ~ raw_heartbeats ~ ' as raw_row'
        ~ ' where raw_row.received_at_utc < next_read.tight_utc),'
        ~ ' (select count(*) from ' ~ raw_heartbeats ~ ' as raw_row'
        ~ ' where raw_row.received_at_utc < next_read.lookback_utc)'
        ~ ' from (select tight.tight_utc, cast('
        ~ dbt.dateadd('hour', -1 * var('heartbeat_lookback_hours'), 'tight.tight_utc')
        ~ ' as timestamp) as lookback_utc from (select cast(' ~ tight_next
        ~ ' as timestamp) as tight_utc) as tight) as next_read'
    ).rows[0] -%}
    {%- set pending = {
        'record': [(next[1], next[3] | int), (next[0], next[2] | int)],
        'keep lookback': [lookback, (none, 0)],
        'forget': [(none, 0), (none, 0)],
    }[outcome] -%}
    insert overwrite table {{ state }}
    {% for state_id, checkpoint in [
        (1, lookback), (3, tight), (2, pending[0]), (4, pending[1])] -%}
    select {{ state_id }}, {{ timestamp_text(checkpoint[0]) }}, {{ checkpoint[1] | int }}
    {{ 'union all' if not loop.last }}
    {% endfor %}
{%- endmacro %}

{# A post-hook of int_heartbeats_deduplicated: make the checkpoints the pre-hook left
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
        'select state_id, boundary_utc, rows_before from ' ~ state
        ~ ' where state_id in (2, 4) order by state_id').rows -%}
    {%- if pending | length == 2 -%}
    insert overwrite table {{ state }}
    {% for row in pending -%}
    select {{ row[0] | int - 1 }}, {{ timestamp_text(row[1]) }}, {{ row[2] | int }}
    {{ 'union all' if not loop.last }}
    {% endfor %}
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
        else "cast('" ~ '%04d' | format(value.year) ~ value.strftime('-%m-%d %H:%M:%S.%f')
            ~ "' as timestamp)") -}}
{%- endmacro %}
