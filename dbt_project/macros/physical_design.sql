{# How each warehouse stores and maintains the large models. Every adapter difference
   is dispatched (`adapter.dispatch(name, 'daybook')`): `default__` is the portable
   behaviour (nothing), `postgres__` / `duckdb__` the tuned ones, and another adapter
   (Spark) adds its own `spark__` versions here without touching a model. #}

{# The `indexes` config of a model: PostgreSQL builds them after each (re)build and
   reads the API's access paths through them; DuckDB gets none, because its ART
   indexes cost memory and insert speed and it prunes by zone maps instead (see
   `cluster_by_keys`). #}
{% macro adapter_indexes(indexes) -%}
    {{ return(adapter.dispatch('adapter_indexes', 'daybook')(indexes)) }}
{%- endmacro %}

{% macro default__adapter_indexes(indexes) -%}
    {{ return([]) }}
{%- endmacro %}

{% macro postgres__adapter_indexes(indexes) -%}
    {{ return(indexes) }}
{%- endmacro %}

{# An `order by` closing a model's select on DuckDB, so rows are stored sorted by
   the keys the API filters on and min/max zone maps skip row groups. Other
   adapters keep their natural order (PostgreSQL uses the indexes above). #}
{% macro cluster_by_keys(columns) -%}
    {{ return(adapter.dispatch('cluster_by_keys', 'daybook')(columns)) }}
{%- endmacro %}

{% macro default__cluster_by_keys(columns) -%}
{%- endmacro %}

{% macro duckdb__cluster_by_keys(columns) -%}
    order by {{ columns | join(', ') }}
{%- endmacro %}

{# `not materialized` for a CTE that a model reads more than once, in a full build only.
   Why: DuckDB and PostgreSQL otherwise write such a CTE out whole before reading it
   twice. In a full build that is every heartbeat with every column: at 100M heartbeats
   int_heartbeats_validated's copy spilled past 55 GB of DuckDB's temporary files and
   failed for disk. Computed twice instead, each read keeps only the columns it uses.
   An incremental run's CTEs hold a few thousand rows, where writing them once is the
   cheaper way, so they stay as they were. Spark never materializes a CTE. #}
{% macro inline_in_full_builds() -%}
    {{ return(adapter.dispatch('inline_in_full_builds', 'daybook')()) }}
{%- endmacro %}

{% macro default__inline_in_full_builds() -%}
{%- endmacro %}

{% macro duckdb__inline_in_full_builds() -%}
    {{- 'not materialized' if not is_incremental() -}}
{%- endmacro %}

{% macro postgres__inline_in_full_builds() -%}
    {{- duckdb__inline_in_full_builds() -}}
{%- endmacro %}

{# A post-hook refreshing the planner's statistics of a large incremental model.
   Why on PostgreSQL: a table just created by a full build has none until autovacuum
   comes by, and without them the planner assumed a third of the rows matched each
   refresh's watermark and scanned the whole history. ANALYZE samples a fixed number
   of rows, so its cost does not grow with the table. #}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics', 'daybook')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    analyze {{ this }}
{%- endmacro %}

{# A pre-hook of incremental runs: session settings for one model's transaction.
   Why on PostgreSQL: no JIT compilation. The planner's row estimates for a refresh's
   small CTEs are large, so JIT kicked in and spent 2.4 s compiling each dense fact's
   query, which then handled a few thousand rows. Full builds keep the server's
   setting. #}
{% macro incremental_session_settings() -%}
    {{ return(adapter.dispatch('incremental_session_settings', 'daybook')()) }}
{%- endmacro %}

{% macro default__incremental_session_settings() -%}
{%- endmacro %}

{% macro postgres__incremental_session_settings() -%}
    {%- if is_incremental() -%}
        set local jit = off
    {%- endif -%}
{%- endmacro %}

{# A post-hook of int_heartbeats_validated: a partial index over the quarantined rows,
   which the quarantine view (and its unique test) read on PostgreSQL. #}
{% macro index_quarantined_heartbeats() -%}
    {{ return(adapter.dispatch('index_quarantined_heartbeats', 'daybook')()) }}
{%- endmacro %}

{% macro default__index_quarantined_heartbeats() -%}
{%- endmacro %}

{% macro postgres__index_quarantined_heartbeats() -%}
    create index if not exists int_heartbeats_validated_quarantined
        on {{ this }} (heartbeat_key) where not is_valid
{%- endmacro %}

{# An index on `relation`'s `column`, created with the table it belongs to (a table
   outside dbt's models, in `daybook_meta`): PostgreSQL reads it by that column. #}
{% macro index_meta_table(relation, index_name, column) -%}
    {{ return(adapter.dispatch('index_meta_table', 'daybook')(relation, index_name, column)) }}
{%- endmacro %}

{% macro default__index_meta_table(relation, index_name, column) -%}
{%- endmacro %}

{% macro postgres__index_meta_table(relation, index_name, column) -%}
    create index if not exists {{ index_name }} on {{ relation }} ({{ column }});
{%- endmacro %}

{# How an incremental model writes a refresh. PostgreSQL and DuckDB delete the rows a
   refresh replaces by key and insert the new ones (`delete+insert`). Spark on parquet
   has no DELETE or MERGE (they need Delta or Iceberg), so a refresh there replaces whole
   partitions (`insert_overwrite`, dynamic partition overwrite): each model's Spark
   macros make its refresh select the complete new contents of every partition it
   rewrites (`spark_partitions.sql`). #}
{% macro incremental_strategy() -%}
    {{ return(adapter.dispatch('incremental_strategy', 'daybook')()) }}
{%- endmacro %}

{% macro default__incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{# How a small summary keyed by one id (`fct_client_freshness`) is kept: incremental
   where a refresh can replace rows by key, a table rebuilt each run on Spark, where an
   unpartitioned overwrite would read the table it replaces. #}
{% macro summary_materialization() -%}
    {{ return(adapter.dispatch('summary_materialization', 'daybook')()) }}
{%- endmacro %}

{% macro default__summary_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__summary_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{# A model's `partition_by`: none where nothing partitions tables (PostgreSQL, DuckDB),
   the column on Spark, where partitions are the unit a refresh rewrites and a reader
   prunes. #}
{% macro partition_by(column) -%}
    {{ return(adapter.dispatch('partition_by', 'daybook')(column)) }}
{%- endmacro %}

{% macro default__partition_by(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__partition_by(column) -%}
    {{ return([column]) }}
{%- endmacro %}

{# The facts' partition column on Spark, written after a fact's last column:
   `activity_month`, the first day of `day_column`'s month. Daily partitions of the facts
   are too small on Spark at every size (about 10,000 rows a day at a billion heartbeats
   a year; a dense fact spans each entity's whole life, 560 days in a 2,000-heartbeat
   sample), and each partition costs a file, a task and a metastore entry per query;
   a month is the unit a refresh rewrites there. Nothing elsewhere: DuckDB and
   PostgreSQL tables keep exactly the contract's columns. The Spark contract check
   expects the column (`spark__get_empty_schema_sql`). #}
{% macro month_partition_column(day_column) -%}
    {{ return(adapter.dispatch('month_partition_column', 'daybook')(day_column)) }}
{%- endmacro %}

{% macro default__month_partition_column(day_column) -%}
{%- endmacro %}

{% macro spark__month_partition_column(day_column) -%}
    ,
        {{ month_of(day_column) }} as activity_month
{%- endmacro %}

{# The first day of `day`'s month, as a date (Spark SQL): the facts' partition value. #}
{% macro month_of(day) -%}
    cast(trunc({{ day }}, 'MM') as date)
{%- endmacro %}

{# on-run-start: session settings every statement of a run relies on. Spark: the
   session time zone is UTC, so raw timestamps (UTC wall-clock times without a zone)
   compare, truncate and cast to dates as UTC whatever the server's default zone is
   (`spark__local_timestamp`). Nothing elsewhere (an empty hook is skipped). #}
{% macro session_settings() -%}
    {{ return(adapter.dispatch('session_settings', 'daybook')()) }}
{%- endmacro %}

{% macro default__session_settings() -%}
{%- endmacro %}

{# Spark also forgets what the session cached about the raw tables: dbt's session lives as
   long as the process (`daybook refresh --every`, the tests), and a raw table that
   `daybook load` replaced meanwhile would otherwise be read from its old file list for
   `spark.sql.metadataCacheTTLSeconds` and fail with FILE_NOT_EXIST. #}
{% macro spark__session_settings() -%}
    {%- if execute -%}
      {%- for node in graph.sources.values() -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.identifier) -%}
        {%- if relation is not none -%}
          {%- do run_query('refresh table ' ~ node.schema ~ '.' ~ node.identifier) -%}
        {%- endif -%}
      {%- endfor -%}
      {#- a metastore that cannot filter partitions on a date key (the local Derby one:
          "Filtering is supported only on partition keys of type string") lists them all
          and Spark filters, instead of failing the dense facts' partition pruning -#}
      {%- do run_query('set spark.sql.hive.metastorePartitionPruningFallbackOnException = true') -%}
    {%- endif %}
    set spark.sql.session.timeZone = UTC
{%- endmacro %}

{# Spark: dbt-spark's `dateadd` goes through unix seconds and fails on a null input
   (`assert_not_null`), which a watermark of an empty table is; `timestampadd` adds the
   interval in the calendar and passes nulls through. dbt's dispatch finds this before
   dbt-spark's, because it lives in the root project. #}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{# Whether a full build of int_heartbeats_deduplicated ranks only the ids with more than
   one copy and lets every other copy pass through unranked. DuckDB and PostgreSQL: yes,
   the pass-through keeps raw's load order, which the later models' reads profit from
   (the model's comment). Spark: no. It writes no row order a later read could use, and
   the shape costs it three shuffles of every copy (the count per id, the join and the
   anti-join) where one window costs one: 20.4 s against 12.4 s to compute 5M
   heartbeats' earliest copies on `local[2]`. #}
{% macro full_build_ranks_repeated_ids_only() -%}
    {{ return(adapter.dispatch('full_build_ranks_repeated_ids_only', 'daybook')()) }}
{%- endmacro %}

{% macro default__full_build_ranks_repeated_ids_only() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__full_build_ranks_repeated_ids_only() -%}
    {{ return(false) }}
{%- endmacro %}
