{# The body of an entity dimension (dim_users, dim_devices): one row per `entity`
   of a known client, with its `attributes`, its local creation day, and the span
   of days its dense daily fact covers (`active_from_date`: the local creation day
   or the first active day, whichever is earlier). #}
{% macro entity_dimension(entity, attributes) %}
{%- set key = entity ~ '_id' -%}

with

entities as (

    select * from {{ ref('int_' ~ entity ~ 's_deduplicated') }}

),

clients as (

    select client_id, timezone from {{ ref('dim_clients') }}

),

{% if target.type == 'postgres' %}
{#- Two probes of the fact's (client, entity, day) index per entity: every refresh
    rebuilds this table, and grouping the whole fact took 1.3 s at 25M heartbeats
    against 20 ms for the probes. DuckDB has no such index and groups instead. #}
activity as (

    select
        entities.client_id,
        entities.{{ key }},
        first_day.activity_date as first_active_date,
        last_day.activity_date as last_active_date
    from entities
    left join lateral (
        select min(activity_date) as activity_date
        from {{ ref('fct_activity_daily') }} as fact
        where fact.client_id = entities.client_id and fact.{{ key }} = entities.{{ key }}
    ) as first_day on true
    left join lateral (
        select max(activity_date) as activity_date
        from {{ ref('fct_activity_daily') }} as fact
        where fact.client_id = entities.client_id and fact.{{ key }} = entities.{{ key }}
    ) as last_day on true

),
{% else %}
activity as (

    select
        client_id,
        {{ key }},
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date
    from {{ ref('fct_activity_daily') }}
    group by client_id, {{ key }}

),
{% endif %}

dated as (

    select
        entities.{{ key }},
        entities.client_id,
        {%- for attribute in attributes %}
        entities.{{ attribute }},
        {%- endfor %}
        entities.created_at,
        {{ local_date('entities.created_at', 'clients.timezone') }} as created_date,
        activity.first_active_date,
        activity.last_active_date
    from entities
    inner join clients on clients.client_id = entities.client_id
    left join activity
        on activity.client_id = entities.client_id
        and activity.{{ key }} = entities.{{ key }}

),

final as (

    select
        *,
        case
            when created_date is null then first_active_date
            when first_active_date is null then created_date
            when first_active_date < created_date then first_active_date
            else created_date
        end as active_from_date
    from dated

)

select * from final
{% endmacro %}
