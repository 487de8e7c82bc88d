{#
  on-run-end hook: stamp this dbt invocation in daybook_meta.build_marker.

  The API keys its answer cache on this stamp (PostgreSQL; DuckDB keys on the
  published snapshot), so any dbt run or build that may have changed the marts,
  whether started by `daybook build`, `daybook refresh` or dbt itself, makes
  every cached answer stale. It runs after the models have committed, so a
  cached answer is never newer than the stamp it is filed under is old.

  The stamp also records the newest heartbeat the marts include, warehouse-wide (the
  newest `received_at_utc` kept by int_heartbeats_deduplicated), for operators. The
  API does not send it: its Last-Modified is each client's own (fct_client_freshness),
  since this time would tell one client when another's data arrived.
#}
{% macro record_build() %}
  {% if execute and flags.WHICH in ('run', 'build') %}
    {{ adapter.dispatch('record_build_sql', 'daybook')() }}
  {% endif %}
{% endmacro %}

{% macro default__record_build_sql() %}
    create schema if not exists daybook_meta;
    create table if not exists daybook_meta.build_marker (
      marker_id integer primary key,
      invocation_id varchar(64) not null,
      finished_at_utc timestamp not null
    );
    alter table daybook_meta.build_marker
      add column if not exists newest_received_at_utc timestamp;
    insert into daybook_meta.build_marker
      (marker_id, invocation_id, finished_at_utc, newest_received_at_utc)
    values (
      1,
      '{{ invocation_id }}',
      {{ dbt.current_timestamp() }},
      {{ newest_kept_heartbeat() }}
    )
    on conflict (marker_id) do update
      set invocation_id = excluded.invocation_id,
          finished_at_utc = excluded.finished_at_utc,
          newest_received_at_utc = excluded.newest_received_at_utc;
{% endmacro %}

{# Spark: one statement per hook and no upsert on parquet, so the schema and table are
   created as the hook renders and the one row is written by overwriting the table. #}
{% macro spark__record_build_sql() %}
  {%- do run_query('create schema if not exists daybook_meta') -%}
  {%- do run_query(
      'create table if not exists daybook_meta.build_marker (marker_id int,'
      ~ ' invocation_id string, finished_at_utc timestamp, newest_received_at_utc timestamp)'
      ~ ' using parquet') -%}
  insert overwrite table daybook_meta.build_marker
  select 1, '{{ invocation_id }}', {{ dbt.current_timestamp() }}, {{ newest_kept_heartbeat() }}
{% endmacro %}

{# The newest received time the deduplicated heartbeats hold, as SQL; null before they exist. #}
{% macro newest_kept_heartbeat() %}
  {%- set nodes = graph.nodes.values()
      | selectattr('name', 'equalto', 'int_heartbeats_deduplicated') | list -%}
  {%- set relation = adapter.get_relation(
      database=nodes[0].database, schema=nodes[0].schema, identifier=nodes[0].alias
  ) if nodes else none -%}
  {%- if relation is not none -%}
    (select max(received_at_utc) from {{ relation }})
  {%- else -%}
    cast(null as timestamp)
  {%- endif -%}
{% endmacro %}
