{#- One row per client id on a deduplicated heartbeat: when its newest heartbeat was
    received. The API's `Last-Modified` on a client's answers is this time, so a client
    polling its own answers learns nothing of when other clients' data arrived (the
    warehouse-wide newest heartbeat would tell it); BI tools can read it as each
    client's data freshness.

    The same heartbeats as the warehouse-wide time (`int_heartbeats_deduplicated`,
    valid or not), so the newest of these rows is that time. Incremental where keys can
    be rewritten (DuckDB, PostgreSQL): a refresh finds the clients of the heartbeats
    deduplicated since this table was last written (their `processed_at_utc`, an index
    probe on PostgreSQL) and computes each one's newest again over all its heartbeats,
    so an earlier copy that replaced the newest one lowers it as a full build would.
    That per-client max is one probe of the `received_at_utc` index on PostgreSQL (it
    reads back from the newest heartbeat to the client's, usually the one just
    delivered); a group-by over every heartbeat would cost seconds per refresh at 25M.
    Known limit: a heartbeat id delivered again under another client, received earlier,
    moves to that client and leaves the first client's time until a full refresh. On
    Spark, where a parquet table has no delete by key, it is a table recomputed each
    build (one scan of two columns). -#}
{{
    config(
        materialized=summary_materialization(),
        incremental_strategy=incremental_strategy(),
        unique_key='client_id',
        on_schema_change='fail',
        indexes=adapter_indexes([
            {'columns': ['client_id'], 'unique': true},
            {'columns': ['refreshed_at_utc']},
        ]),
    )
}}

{%- set heartbeats = ref('int_heartbeats_deduplicated') %}

with

{% if is_incremental() %}
touched as (

    select distinct client_id
    from {{ heartbeats }}
    where processed_at_utc > {{ max_timestamp('refreshed_at_utc', this) }}
        and client_id is not null

),

newest as (

    select
        touched.client_id,
        (
            select max(kept.received_at_utc)
            from {{ heartbeats }} as kept
            where kept.client_id = touched.client_id
        ) as newest_received_at_utc
    from touched

),
{% else %}
newest as (

    select
        client_id,
        max(received_at_utc) as newest_received_at_utc
    from {{ heartbeats }}
    where client_id is not null
    group by client_id

),
{% endif %}

final as (

    select
        client_id,
        newest_received_at_utc,
        {{ run_timestamp() }} as refreshed_at_utc
    from newest

)

select * from final
