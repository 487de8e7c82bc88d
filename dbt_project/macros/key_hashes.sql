{# Finding a refresh's few thousand heartbeats among every kept one by key, on DuckDB.

   Why: a refresh looks rows up by `heartbeat_key` in the two heartbeat models four
   times (the kept copy of each id read, the previous row of each candidate, and the
   delete of each model's delete+insert). DuckDB has no index to answer that, so each
   lookup scans the key column, text of about 36 bytes a row: 1.8 s a scan at 100M
   heartbeats with DuckDB's buffers warm, most of a refresh. With the key's hash stored
   beside it (a UBIGINT, `<key>_hash`), the scan reads eight bytes a row and the rows it
   finds are read by row id: 0.3 s warm at 100M for 2,775 new ids, about 2 s in a
   refresh's new dbt process, which reads it cold. The full build pays for it: writing
   the hash, deduplication took 53.8 s instead of 47.4 s at 25M (bench runs
   20261204T120002Z and 20261204T043357Z).
   PostgreSQL finds them through the key's unique index, and Spark rewrites whole
   partitions, so neither stores the hash (`default__`: no column). #}

{# The `, hash(key) as <name>_hash` column closing a heartbeat model's select on
   DuckDB; nothing elsewhere. `key` is the key's expression, `name` its column. #}
{% macro key_hash_column(key, name) -%}
    {{ return(adapter.dispatch('key_hash_column', 'daybook')(key, name)) }}
{%- endmacro %}

{% macro default__key_hash_column(key, name) -%}
{%- endmacro %}

{% macro duckdb__key_hash_column(key, name) -%}
    ,
        hash({{ key }}) as {{ name }}_hash
{%- endmacro %}

{# Whether `relation`'s `<key>_hash` column can stand for its key in this run: it
   exists, every row has one (a table built before the column existed gets it empty,
   `on_schema_change='append_new_columns'`), and it still equals DuckDB's `hash()` of
   the key (an upgrade of DuckDB may change the function). Otherwise lookups read the
   key itself, correct and slower, until `daybook build --full-refresh` writes the
   column anew. Runs a query: call it only at execution. #}
{% macro key_hashes_usable(relation, key) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- if (key ~ '_hash') not in columns -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set unusable = run_query(
        'select (select count(*) from ' ~ relation ~ ' where ' ~ key ~ '_hash is null)'
        ~ ' + (select count(*) from (select ' ~ key ~ ', ' ~ key ~ '_hash from ' ~ relation
        ~ ' limit 2048) as sampled where sampled.' ~ key ~ '_hash <> hash(sampled.' ~ key ~ '))'
    ).columns[0].values()[0] -%}
    {{- return(unusable | int == 0) -}}
{%- endmacro %}

{# The row ids of `relation`'s rows whose `<key>_hash` is the hash of a key the
   subquery `keys` selects: every row with such a key, and, should two keys ever share
   a 64-bit hash, the other one too (about one chance in 10^8 per refresh at 100M
   heartbeats). Callers compare the key itself where that matters. #}
{% macro rows_by_key_hash(relation, key, keys) -%}
    select hashed.rowid
    from {{ relation }} as hashed
    where hashed.{{ key }}_hash in (
        select hash(wanted.key_value) from ({{ keys }}) as wanted (key_value)
    )
{%- endmacro %}

{# The incremental strategy of the models keyed by `heartbeat_key` (their `config`,
   read when dbt parses the project, so it names a strategy without querying): on
   DuckDB `delete_insert_by_key_hash`, elsewhere the adapter's own
   (`incremental_strategy`). #}
{% macro keyed_incremental_strategy() -%}
    {{ return(adapter.dispatch('keyed_incremental_strategy', 'daybook')()) }}
{%- endmacro %}

{% macro default__keyed_incremental_strategy() -%}
    {{ return(incremental_strategy()) }}
{%- endmacro %}

{% macro duckdb__keyed_incremental_strategy() -%}
    {{ return('delete_insert_by_key_hash') }}
{%- endmacro %}

{# dbt's custom incremental strategy `delete_insert_by_key_hash` (dbt calls
   `get_incremental_<strategy>_sql`): delete+insert whose delete finds the replaced rows
   by the key's hash, then compares the key itself on those rows alone (a materialized
   CTE, so the comparison is not pushed into the scan of every row; the plain delete
   scanned the key column, 1.8 s a model at 100M heartbeats), then dbt's own append.
   dbt's own delete+insert when the hashes are not usable. #}
{% macro get_incremental_delete_insert_by_key_hash_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if not key_hashes_usable(target, key) -%}
        {{- return(get_incremental_delete_insert_sql(arg_dict)) -}}
    {%- endif -%}
    delete from {{ target }}
    where rowid in (
        with candidates as materialized (
            select kept.rowid as row_id, kept.{{ key }} as key_value
            from {{ target }} as kept
            where kept.rowid in (
                {{ rows_by_key_hash(target, key, 'select ' ~ key ~ ' from ' ~ source) }}
            )
        )
        select candidates.row_id
        from candidates
        where candidates.key_value in (select {{ key }} from {{ source }})
    );

    {{ get_incremental_append_sql(arg_dict) }}
{%- endmacro %}

{# dbt's `unique` data test on DuckDB: a column with a usable `<column>_hash` beside it
   (`key_hashes_usable`) is grouped by its eight-byte hash first, and only keys whose
   hash repeats are compared as text; any other column gets dbt's own test. Why: the
   heartbeat models' `heartbeat_key` tests group every key's text, and at 100M
   heartbeats under the build's 3 GB that hash table spills: 19.5 s and 18.8 s, each on
   the build's critical path (dbt runs a model's children after its tests; bench run
   20261204T181052Z). On a 25M warehouse under a quarter of the memory (the same
   pressure), 4.07 s by text against 1.11 s by hash (medians of three).
   Exact: equal keys have equal hashes, so every duplicate is among the repeated
   hashes, and the text comparison drops keys that merely share one. #}
{% macro duckdb__test_unique(model, column_name) -%}
    {%- if execute and model.identifier is defined
        and key_hashes_usable(model, column_name) -%}
    with repeated_hashes as (

        select {{ column_name }}_hash as key_hash
        from {{ model }}
        group by {{ column_name }}_hash
        having count(*) > 1

    )

    select {{ column_name }} as unique_field, count(*) as n_records
    from {{ model }}
    where {{ column_name }}_hash in (select key_hash from repeated_hashes)
        and {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1
    {%- else -%}
    {{ dbt.default__test_unique(model, column_name) }}
    {%- endif -%}
{%- endmacro %}
