{#- One row per client, local day, user and device with at least one valid heartbeat.

    Incremental by partition: a refresh finds the (client, local day) partitions
    touched by heartbeats validated since this table was last written: the partition
    each one counts in now and the one it counted in before it was validated again
    (an earlier copy, a moved user or device, a changed time zone; late heartbeats
    touch their own, older day), and rebuilds each one whole from
    `int_heartbeats_validated` (delete+insert on client_id, activity_date). A pre-hook
    deletes the touched partitions first, so one that lost all its heartbeats ends
    empty, as a full build leaves it (delete+insert alone only replaces partitions
    that still have rows). The unique key also lets the serving snapshot publish
    incrementally. Rebuilding whole
    partitions rather than adding deltas keeps a refresh idempotent and self-healing.
    Measures are bigint sums of counts the validity rule bounds to 2,147,483,647. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy(),
        unique_key=['client_id', 'activity_date'],
        partition_by=partition_by('activity_month'),
        on_schema_change='fail',
        pre_hook=["{{ delete_touched_partitions() }}"],
        post_hook=["{{ refresh_statistics() }}"],
        indexes=adapter_indexes([
            {'columns': ['client_id', 'user_id', 'activity_date']},
            {'columns': ['client_id', 'device_id', 'activity_date']},
            {'columns': ['client_id', 'activity_date']},
            {'columns': ['activity_date']},
            {'columns': ['refreshed_at_utc']},
        ]),
    )
}}

with

{% if is_incremental() %}
{#- The validated model is read twice here, each time through its indexes: a CTE
    named once and used twice would be materialized whole by PostgreSQL. #}
touched_partitions as (

    {{ touched_partitions(max_timestamp('refreshed_at_utc', this)) }}

),

partition_heartbeats as (

    {#- dispatched: PostgreSQL reads each partition through its index #}
    {{ valid_heartbeats_in_partitions(ref('int_heartbeats_validated'), 'touched_partitions') }}

),
{% else %}
partition_heartbeats as (

    select * from {{ ref('int_heartbeats_validated') }}
    where is_valid

),
{% endif %}

aggregated as (

    select
        ----------  grain
        client_id,
        activity_date,
        user_id,
        device_id,

        ----------  measures
        {% for measure in activity_count_columns() -%}
        cast(sum(cast({{ measure }} as bigint)) as bigint) as {{ measure }},
        {% endfor -%}
        cast(count(*) as bigint) as heartbeat_count,

        ----------  lineage
        {{ run_timestamp() }} as refreshed_at_utc
        {{ month_partition_column('activity_date') }} -- noqa: LT02

    from partition_heartbeats
    group by client_id, activity_date, user_id, device_id

)

select * from aggregated
{{ cluster_by_keys(['client_id', 'user_id', 'activity_date']) }}
