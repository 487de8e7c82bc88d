{# Joins that PostgreSQL answers through an index, one probe per outer row (a lateral
   join), where its planner otherwise hashes a whole large table. Each is dispatched:
   `default__` is the portable join every warehouse can run (DuckDB, which has no such
   indexes, measured it faster too); `postgres__` is the probe. Each was measured with
   EXPLAIN ANALYZE on PostgreSQL; the numbers are in the `postgres__` comments. #}

{# The valid rows of `validated` (int_heartbeats_validated) in the (client_id,
   activity_date) partitions listed by the CTE `partitions`. #}
{% macro valid_heartbeats_in_partitions(validated, partitions) -%}
    {{ return(adapter.dispatch('valid_heartbeats_in_partitions', 'daybook')(validated, partitions)) }}
{%- endmacro %}

{% macro default__valid_heartbeats_in_partitions(validated, partitions) -%}
    select validated.*
    from {{ validated }} as validated
    inner join {{ partitions }}
        on {{ partitions }}.client_id = validated.client_id
        and {{ partitions }}.activity_date = validated.activity_date
    where validated.is_valid
{%- endmacro %}

{#- Each partition read through the (client_id, activity_date) index; `offset 0` keeps
    the subquery from being flattened. A plain join planned a hash join over every
    validated heartbeat (1.1 s at 2.5M heartbeats for five partitions; 0.002 s). #}
{% macro postgres__valid_heartbeats_in_partitions(validated, partitions) -%}
    select partition_rows.*
    from {{ partitions }}
    cross join lateral (
        select validated.*
        from {{ validated }} as validated
        where validated.client_id = {{ partitions }}.client_id
            and validated.activity_date = {{ partitions }}.activity_date
            and validated.is_valid
        offset 0
    ) as partition_rows
{%- endmacro %}

{#- Spark: a refresh overwrites whole months (the fact's partitions,
    `month_partition_column`), so it reads every valid heartbeat of each month holding a
    touched day, of every client. The months are read first and written as day ranges,
    so the validated model's day partitions are pruned before anything is scanned. The
    fact's pre-hook drops the touched months left with no valid heartbeat. #}
{% macro spark__valid_heartbeats_in_partitions(validated, partitions) -%}
    select validated.*
    from {{ validated }} as validated
    where validated.is_valid
        and {{ days_in_months('validated.activity_date', touched_months()) }}
{%- endmacro %}

{# A filter on `alias` (a reference to `relation`, an incremental model's own table):
   its rows whose `key` is among those the subquery `keys` selects (on DuckDB, by the
   key's hash: possibly a row more, see `duckdb__key_among`). #}
{% macro key_among(relation, alias, key, keys) -%}
    {{ return(adapter.dispatch('key_among', 'daybook')(relation, alias, key, keys)) }}
{%- endmacro %}

{% macro default__key_among(relation, alias, key, keys) -%}
    {{ alias }}.{{ key }} in ({{ keys }})
{%- endmacro %}

{#- DuckDB reads every column of every row before a semi-join drops the rows it does
    not need: 6 s at 25M heartbeats for a refresh's few thousand keys (DuckDB's
    profiler, quiet machine), the largest part of a refresh. So the row ids are found
    first and the rows read by id: by the key's stored hash where the model keeps one
    (`key_hashes.sql`: 0.3 s at 100M heartbeats; the rows found may include one whose
    key merely shares the hash, which every caller tolerates or compares away), else
    by the key column (1.8 s at 100M). #}
{% macro duckdb__key_among(relation, alias, key, keys) -%}
    {%- if execute and key_hashes_usable(relation, key) -%}
    {{ alias }}.rowid in ({{ rows_by_key_hash(relation, key, keys) }})
    {%- else -%}
    {{ alias }}.rowid in (
        select keyed.rowid from {{ relation }} as keyed where keyed.{{ key }} in ({{ keys }})
    )
    {%- endif -%}
{%- endmacro %}

{# A join clause giving each row of the CTE `candidates` the row `kept` holds for its
   heartbeat_key (unique) when that row had a local day, as `previous`. #}
{% macro join_previous_row(kept, candidates) -%}
    {{ return(adapter.dispatch('join_previous_row', 'daybook')(kept, candidates)) }}
{%- endmacro %}

{% macro default__join_previous_row(kept, candidates) -%}
    left join {{ kept }} as previous
        on previous.heartbeat_key = {{ candidates }}.heartbeat_key
        and previous.activity_date is not null
{%- endmacro %}

{#- DuckDB estimates the candidates (a CTE over this run's few rows) at a fifth of the
    table, so a plain left join hashed every kept row's key, local day and client: 3.6 s
    of a 7.3 s statement at 25M heartbeats, and at 100M a hash table larger than the
    build's memory limit, spilled (28 s of a 49 s refresh). The candidates' rows are
    found by key first (`key_among`: the key column alone, then those rows by id), so
    the join's other side is as small as the candidates. #}
{% macro duckdb__join_previous_row(kept, candidates) -%}
    left join (
        select kept.heartbeat_key, kept.client_id, kept.activity_date
        from {{ kept }} as kept
        where {{ key_among(kept, 'kept', 'heartbeat_key',
                'select heartbeat_key from ' ~ candidates) }}
            and kept.activity_date is not null
    ) as previous
        on previous.heartbeat_key = {{ candidates }}.heartbeat_key
{%- endmacro %}

{#- One lookup per candidate through the unique heartbeat_key index; a plain join
    planned a hash of the whole table (1.2 s at 2.5M heartbeats for 70 candidates).
    `limit 1` keeps the subquery from being flattened back into a hash join. #}
{% macro postgres__join_previous_row(kept, candidates) -%}
    left join lateral (
        select kept.client_id, kept.activity_date
        from {{ kept }} as kept
        where kept.heartbeat_key = {{ candidates }}.heartbeat_key
            and kept.activity_date is not null
        limit 1
    ) as previous on true
{%- endmacro %}

{# The activity of each (client_id, `key`, activity_date) row of the CTE `days`, summed
   from `fact` (fct_activity_daily): every measure, and the distinct count of
   `other_key` as `<other>_count` (a plain count: the fact has one row per other key a
   day, its grain tested unique before the dense facts run). Days without activity get
   no row (default) or nulls (PostgreSQL); the caller's left join and coalesce make both
   zero. #}
{% macro activity_on_days(fact, days, key, other_key) -%}
    {{ return(adapter.dispatch('activity_on_days', 'daybook')(fact, days, key, other_key)) }}
{%- endmacro %}

{% macro default__activity_on_days(fact, days, key, other_key) -%}
    select
        activity.client_id,
        activity.{{ key }},
        activity.activity_date,
        {% for measure in activity_measure_columns() -%}
        sum(activity.{{ measure }}) as {{ measure }},
        {% endfor -%}
        count(activity.{{ other_key }}) as {{ other_key | replace('_id', '') }}_count
    from {{ fact }} as activity
    inner join {{ days }}
        on {{ days }}.client_id = activity.client_id
        and {{ days }}.{{ key }} = activity.{{ key }}
        and {{ days }}.activity_date = activity.activity_date
    {#- Implied by the join, and what makes it cheap: `days` joins a date spine on
        ranges, so its estimated size is billions of rows and DuckDB built the join's
        hash table on the whole fact instead (0.31 s of a 0.45 s statement at 25M
        heartbeats, for 692 days to write); this filter DuckDB pushes into the fact's
        scan, which then reads the rows from that day on (1,226 there, 0.10 s). A
        refresh writes recent days, unless a new entity's span starts long ago. #}
    where activity.activity_date >= (select min(earliest.activity_date) from {{ days }} as earliest)
    group by activity.client_id, activity.{{ key }}, activity.activity_date
{%- endmacro %}

{#- Each day looked up through the fact's (client, entity, day) index: a join on the
    days planned a sort of the whole fact (7.8 s per dense fact at 25M heartbeats). #}
{% macro postgres__activity_on_days(fact, days, key, other_key) -%}
    {%- set other_count = other_key | replace('_id', '') ~ '_count' -%}
    select
        {{ days }}.client_id,
        {{ days }}.{{ key }},
        {{ days }}.activity_date,
        {% for measure in activity_measure_columns() -%}
        day_activity.{{ measure }},
        {% endfor -%}
        day_activity.{{ other_count }}
    from {{ days }}
    cross join lateral (
        select
            {% for measure in activity_measure_columns() -%}
            sum(activity.{{ measure }}) as {{ measure }},
            {% endfor -%}
            count(activity.{{ other_key }}) as {{ other_count }}
        from {{ fact }} as activity
        where activity.client_id = {{ days }}.client_id
            and activity.{{ key }} = {{ days }}.{{ key }}
            and activity.activity_date = {{ days }}.activity_date
    ) as day_activity
{%- endmacro %}

{# Every row of the CTE `entities` (which has client_id and `key`) with the first and
   last activity_date `fact` (fct_activity_daily) holds for it, as first_active_date
   and last_active_date (null when it has none). #}
{% macro with_first_and_last_active_dates(fact, entities, key) -%}
    {{ return(adapter.dispatch('with_first_and_last_active_dates', 'daybook')(fact, entities, key)) }}
{%- endmacro %}

{% macro default__with_first_and_last_active_dates(fact, entities, key) -%}
    select
        {{ entities }}.*,
        activity.first_active_date,
        activity.last_active_date
    from {{ entities }}
    left join (
        select
            client_id,
            {{ key }},
            min(activity_date) as first_active_date,
            max(activity_date) as last_active_date
        from {{ fact }}
        group by client_id, {{ key }}
    ) as activity
        on activity.client_id = {{ entities }}.client_id
        and activity.{{ key }} = {{ entities }}.{{ key }}
{%- endmacro %}

{#- Two probes of the fact's (client, entity, day) index per entity: every run rebuilds
    the spans, and grouping the whole fact took 1.3 s at 25M heartbeats against 20 ms
    for the probes. #}
{% macro postgres__with_first_and_last_active_dates(fact, entities, key) -%}
    select
        {{ entities }}.*,
        first_day.activity_date as first_active_date,
        last_day.activity_date as last_active_date
    from {{ entities }}
    {%- for aggregate, day in [('min', 'first_day'), ('max', 'last_day')] %}
    left join lateral (
        select {{ aggregate }}(fact.activity_date) as activity_date
        from {{ fact }} as fact
        where fact.client_id = {{ entities }}.client_id
            and fact.{{ key }} = {{ entities }}.{{ key }}
    ) as {{ day }} on true
    {%- endfor %}
{%- endmacro %}
