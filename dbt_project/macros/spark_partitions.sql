{# How an incremental model refreshes on Spark, where a refresh overwrites whole
   partitions (`insert_overwrite` with dynamic partition overwrite, `partition_by`) and
   parquet tables have no DELETE. Two rules make that reach what a full build gives:

   1. A refresh selects the complete new contents of every partition it writes: the
      rows it rewrote, plus the rows it keeps of those partitions (`complete_partitions`
      for the models keyed by a unique key; the facts recompute whole days instead,
      `spark__valid_heartbeats_in_partitions` and `spark__dense_days_to_write`).
   2. A partition that ends with no row at all is not written by an overwrite, so its
      old rows would stay: those partitions are dropped (`drop_moved_partitions`,
      `spark__delete_touched_partitions`, `spark__prune_dense_rows`).

   Elsewhere (`default__`) these macros are the plain select and nothing: DuckDB and
   PostgreSQL delete and insert by key. #}

{# The rows a refresh writes for the CTE `rows` (new and rewritten rows of a model keyed
   by `key`, a column or a list), partitioned by `partition`. On Spark's incremental
   runs: `rows`, plus every row `this` holds in the partitions `rows` touches (its own,
   and those its keys were in before) whose key `rows` does not rewrite: the same
   result delete+insert on the key gives, as whole partitions. #}
{% macro complete_partitions(rows, key, partition) -%}
    {{ return(adapter.dispatch('complete_partitions', 'daybook')(rows, key, partition)) }}
{%- endmacro %}

{% macro default__complete_partitions(rows, key, partition) -%}
    select * from {{ rows }}
{%- endmacro %}

{% macro spark__complete_partitions(rows, key, partition) -%}
    {%- if not is_incremental() -%}
    select * from {{ rows }}
    {%- else -%}
    {%- set keys = [key] if key is string else key -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    select {{ columns | join(', ') }}
    from {{ rows }}
    union all
    select {{ column_list(columns, 'kept.') }}
    from {{ this }} as kept
    where exists (
        select 1
        from (
            select {{ partition }} as partition_value from {{ rows }}
            union
            select moved.{{ partition }}
            from {{ this }} as moved
            inner join {{ rows }} as rewritten
                on {% for column in keys %}rewritten.{{ column }} = moved.{{ column }}
                {{- ' and ' if not loop.last }}{% endfor %}
        ) as touched
        where touched.partition_value <=> kept.{{ partition }}
    )
        and not exists (
            select 1
            from {{ rows }} as rewritten
            where {% for column in keys %}rewritten.{{ column }} = kept.{{ column }}
                {{- ' and ' if not loop.last }}{% endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{# A post-hook of the keyed models whose rows can move between partitions (a heartbeat
   whose earlier copy arrived, or whose local day or validity changed). A partition all
   of whose rows moved away got no row in the overwrite and still holds the old ones;
   each such old row has a newer copy (this run's `processed_at_utc`) in another
   partition, which is how they are found. Their partitions are dropped: every row in
   them is such a leftover (a partition with any row written was overwritten whole). #}
{% macro drop_moved_partitions(key, partition) -%}
    {{ return(adapter.dispatch('drop_moved_partitions', 'daybook')(key, partition)) }}
{%- endmacro %}

{% macro default__drop_moved_partitions(key, partition) -%}
{%- endmacro %}

{% macro spark__drop_moved_partitions(key, partition) -%}
    {%- if is_incremental() -%}
    {%- set stale = run_query(
        'select distinct old.' ~ partition ~ ' from ' ~ this ~ ' as old'
        ~ ' inner join ' ~ this ~ ' as fresh on fresh.' ~ key ~ ' = old.' ~ key
        ~ ' and not (fresh.' ~ partition ~ ' <=> old.' ~ partition ~ ')'
        ~ ' where fresh.processed_at_utc = ' ~ run_timestamp()
        ~ ' and old.processed_at_utc < ' ~ run_timestamp()
    ).columns[0].values() -%}
    {{ drop_partitions(partition, stale) }}
    {%- endif -%}
{%- endmacro %}

{# Remove the partitions of `this` whose `partition` value (a date, or null) is in
   `values`; nothing when there are none. Parquet tables drop them from the catalog
   (`alter table ... drop partition`); Delta and Iceberg tables
   (`daybook_spark_file_format`) have DELETE instead. #}
{% macro drop_partitions(partition, values) -%}
    {%- if values | length > 0 and config.get('file_format') in ['delta', 'iceberg'] -%}
    delete from {{ this }}
    where {% for value in values -%}
        {{ partition }} {{ "is null" if value is none else "= '" ~ value ~ "'" }}
        {{- ' or ' if not loop.last }}
    {%- endfor %}
    {%- elif values | length > 0 -%}
    alter table {{ this }} drop if exists
    {%- for value in values %}
        partition ({{ partition }} = {{ "null" if value is none else "'" ~ value ~ "'" }})
        {{- ',' if not loop.last }}
    {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{# The partition column int_heartbeats_deduplicated gets on Spark, after its other
   columns: the UTC day a heartbeat was received. It has no local day yet (validation
   finds it), and new heartbeats arrive on the latest receipt days, so a refresh
   rewrites a few recent days. None elsewhere (the table keeps its columns). #}
{% macro receipt_partition_column(received_at) -%}
    {{ return(adapter.dispatch('receipt_partition_column', 'daybook')(received_at)) }}
{%- endmacro %}

{% macro default__receipt_partition_column(received_at) -%}
{%- endmacro %}

{% macro spark__receipt_partition_column(received_at) -%}
    ,
        cast({{ received_at }} as date) as received_date
{%- endmacro %}
