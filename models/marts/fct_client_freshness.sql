{#- One row per client id on a deduplicated heartbeat with a received time: when its
    newest heartbeat was received. The API's `Last-Modified` on a client's answers is
    this time, so a client polling its own answers learns nothing of when other
    clients' data arrived (the warehouse-wide newest heartbeat would tell it); BI tools
    can read it as each client's data freshness.

    The same heartbeats as the warehouse-wide time (`int_heartbeats_deduplicated`,
    valid or not), so the newest of these rows is that time; a received time outside
    the years 1 to 9999 (written straight into raw: the loader refuses one) is left out,
    as no reader of it could hold it (`within_years`). Incremental where keys can
    be rewritten (DuckDB, PostgreSQL): a refresh finds the clients of the heartbeats
    (re)validated since this table was last written (`int_heartbeats_validated`'s
    `processed_at_utc`, an index probe on PostgreSQL), and the clients such a heartbeat
    left (`previous_client_id`: an earlier copy delivered under another client), and
    computes each one's newest again over all its heartbeats, so an earlier copy that
    replaced the newest one lowers it, as a full build would. That per-client max is a
    walk back along the `received_at_utc` index on PostgreSQL, from the newest heartbeat
    to the client's own (usually the one just delivered; for a backfill of a quiet
    client, as far back as its last heartbeat, beside a refresh that then reads all of
    raw anyway). A client left with no heartbeat gets a null time, and the post-hook
    deletes its row, as a full build has none. A group-by over every heartbeat would
    cost PostgreSQL seconds per refresh at 25M. On Spark, where a parquet table has no
    delete by key, it is a table recomputed each build (one scan of two columns). -#}
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
        post_hook=[
            "{% if is_incremental() %}delete from {{ this }}"
            " where newest_received_at_utc is null{% endif %}",
        ],
    )
}}

{%- set heartbeats = ref('int_heartbeats_deduplicated') %}
{%- set validated = ref('int_heartbeats_validated') %}

with

{% if is_incremental() %}
{%- set watermark = max_timestamp('refreshed_at_utc', this) %}
touched as (

    select client_id
    from {{ validated }}
    where processed_at_utc > {{ watermark }}
        and client_id is not null
        and received_at_utc is not null

    union

    select previous_client_id as client_id
    from {{ validated }}
    where processed_at_utc > {{ watermark }}
        and previous_client_id is not null
        and (client_id is null or previous_client_id <> client_id)

),

newest as (

    select
        touched.client_id,
        (
            select max(kept.received_at_utc)
            from {{ heartbeats }} as kept
            where kept.client_id = touched.client_id
                and {{ within_years('kept.received_at_utc') }}
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
        and {{ within_years('received_at_utc') }}
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
