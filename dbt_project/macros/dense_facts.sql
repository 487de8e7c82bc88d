{# Macros of the dense daily facts (fct_user_activity_daily, fct_device_activity_daily):
   the day their spans end, and the pre-hook that prunes rows a full build would not
   have. #}

{# The latest local day with valid activity anywhere (fct_activity_daily, already
   rebuilt in this run), as a date literal: where every dense span ends. #}
{% macro newest_activity_date() -%}
    {{- return(date_literal('select max(activity_date) from ' ~ ref('fct_activity_daily'))
        or 'cast(null as date)') -}}
{%- endmacro %}

{# A pre-hook of the dense facts' incremental runs: delete the rows a full build would
   not have. Days after the latest active day go every run (an index range on
   PostgreSQL; usually none). Rows of an entity no longer under that client, or
   before its first day, can only appear when such an entity that already had rows
   changed (moved, a new creation time, vanished), its client changed zone (local
   days move), or a heartbeat left a partition since this table was last written;
   only then does the hook compare the whole table with the dimension. Brand-new ids
   (`is_new_entity`) and entities of the other dense kind do not count: nearly every
   refresh delivers a new user, and it has no rows here to prune. #}
{% macro prune_dense_rows(entity) -%}
    {%- if is_incremental() -%}
    {%- set key = entity ~ '_id' -%}
    {%- set last_refreshed_at = max_timestamp('refreshed_at_utc', this) -%}
    {%- set last_active = newest_activity_date() -%}
    {%- set moved = run_query(
        'select count(*) from (select 1 from ' ~ ref('int_entity_versions')
        ~ ' where changed_at_utc > ' ~ last_refreshed_at
        ~ " and entity_type in ('" ~ entity ~ "', 'client')"
        ~ ' and not coalesce(is_new_entity, false)'
        ~ ' union all select 1 from ' ~ heartbeat_departures_relation()
        ~ ' where departed_at_utc > ' ~ last_refreshed_at ~ ') as changes'
    ).columns[0].values()[0] | int > 0 -%}
    delete from {{ this }} as dense
    where dense.activity_date > {{ last_active }}
        or {{ last_active }} is null
    {%- if moved %}
        or not exists (
            select 1
            from {{ ref('dim_' ~ entity ~ 's') }} as entities
            where entities.client_id = dense.client_id
                and entities.{{ key }} = dense.{{ key }}
                and entities.active_from_date <= dense.activity_date
        )
    {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
