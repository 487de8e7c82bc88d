{#- One row per client, user and device id ever seen, with a fingerprint of what the
    facts depend on (a client's time zone; a user's or device's client and creation
    time) and when that fingerprint last changed.

    Why: an entity delivered again replaces the earlier row (contract section 1), and a
    changed zone or owner applies to the entity's old heartbeats too. A refresh finds
    the entities that changed (or arrived, or disappeared) since a model last ran by
    `changed_at_utc`, and re-validates exactly their heartbeats, so an incremental build
    reaches what a full build would. Incremental: each run compares the current rows
    with the stored fingerprints and rewrites only new, changed and vanished ids (a
    vanished id keeps a row with a null fingerprint). `is_new_entity` marks an id this
    table never held before the run that wrote the row: it has no dense fact rows yet,
    so the dense facts need not look for rows it left (`prune_dense_rows`). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy=incremental_strategy(),
        unique_key=['entity_type', 'entity_id'],
        partition_by=partition_by('entity_type'),
        on_schema_change='append_new_columns',
        indexes=adapter_indexes([
            {'columns': ['entity_type', 'entity_id'], 'unique': true},
            {'columns': ['changed_at_utc']},
        ]),
        post_hook=["{{ drop_moved_partitions(['entity_type', 'entity_id'], 'entity_type') }}"],
    )
}}

{%- set text = dbt.type_string() -%}


{% call complete_partitions(['entity_type', 'entity_id'], 'entity_type') -%}
with

current_entities as (

    select
        'client' as entity_type,
        client_id as entity_id,
        {{ zone_fingerprint() }} as fingerprint
    from {{ ref('int_clients_deduplicated') }}

    {#- a user's or device's client and creation time #}
    union all
    select 'user' as entity_type, user_id as entity_id, {{ owner_fingerprint() }} as fingerprint
    from {{ ref('int_users_deduplicated') }}

    union all
    select 'device' as entity_type, device_id as entity_id, {{ owner_fingerprint() }} as fingerprint
    from {{ ref('int_devices_deduplicated') }}

),

{% if is_incremental() %}
changed as (

    select
        current_entities.entity_type,
        current_entities.entity_id,
        current_entities.fingerprint,
        {#- any earlier row, even a vanished id's: its dense rows may still be there #}
        previous.entity_id is null as is_new_entity
    from current_entities
    left join {{ this }} as previous
        on previous.entity_type = current_entities.entity_type
        and previous.entity_id = current_entities.entity_id
    where previous.entity_id is null
        or previous.fingerprint is null
        or previous.fingerprint <> current_entities.fingerprint

),

vanished as (

    select
        previous.entity_type,
        previous.entity_id,
        cast(null as {{ text }}) as fingerprint,
        false as is_new_entity
    from {{ this }} as previous
    where previous.fingerprint is not null
        and not exists (
            select 1
            from current_entities
            where current_entities.entity_type = previous.entity_type
                and current_entities.entity_id = previous.entity_id
        )

),

versions as (

    select * from changed
    union all
    select * from vanished

),
{% else %}
versions as (

    {#- a full build does not know what the table held before: none counts as new #}
    select *, false as is_new_entity from current_entities

),
{% endif %}

final as (

    select
        cast(entity_type as {{ text }}) as entity_type,
        entity_id,
        fingerprint,
        {{ run_timestamp() }} as changed_at_utc,
        is_new_entity
    from versions

)

select * from final
{% endcall %}
