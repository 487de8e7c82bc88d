{#
  on-run-end hook: stamp this dbt invocation in daybook_meta.build_marker.

  The API keys its answer cache on this stamp (PostgreSQL; DuckDB keys on the
  published snapshot), so any dbt run or build that may have changed the marts,
  whether started by `daybook build`, `daybook refresh` or dbt itself, makes
  every cached answer stale. It runs after the models have committed, so a
  cached answer is never newer than the stamp it is filed under is old.
#}
{% macro record_build() %}
  {% if execute and flags.WHICH in ('run', 'build') %}
    create schema if not exists daybook_meta;
    create table if not exists daybook_meta.build_marker (
      marker_id integer primary key,
      invocation_id varchar(64) not null,
      finished_at_utc timestamp not null
    );
    insert into daybook_meta.build_marker (marker_id, invocation_id, finished_at_utc)
    values (1, '{{ invocation_id }}', {{ dbt.current_timestamp() }})
    on conflict (marker_id) do update
      set invocation_id = excluded.invocation_id,
          finished_at_utc = excluded.finished_at_utc;
  {% endif %}
{% endmacro %}
