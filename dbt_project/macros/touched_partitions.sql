{# The (client_id, activity_date) partitions that heartbeats validated after
   `watermark` touch: where each valid one counts now, and where each one counted
   before this validation (`previous_*`, set when an earlier copy, a moved user or
   device or a changed time zone rewrote a heartbeat that was valid). The facts
   rebuild exactly these. Both halves read `int_heartbeats_validated` through its
   `processed_at_utc` index on PostgreSQL. #}
{% macro touched_partitions(watermark) -%}
    select client_id, activity_date
    from {{ ref('int_heartbeats_validated') }}
    where processed_at_utc > {{ watermark }}
        and is_valid
    union
    select previous_client_id as client_id, previous_activity_date as activity_date
    from {{ ref('int_heartbeats_validated') }}
    where processed_at_utc > {{ watermark }}
        and previous_activity_date is not null
{%- endmacro %}

{# A pre-hook of fct_activity_daily's incremental runs: delete the partitions this run
   rebuilds, so one that lost every heartbeat ends empty. It reads the same watermark
   as the model (the table is not written between the two). #}
{% macro delete_touched_partitions() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as fact
    where exists (
        select 1
        from ({{ touched_partitions(max_timestamp('refreshed_at_utc', this)) }}) as touched
        where touched.client_id = fact.client_id
            and touched.activity_date = fact.activity_date
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
