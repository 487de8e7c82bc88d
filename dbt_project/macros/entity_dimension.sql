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

activity as (

    select
        client_id,
        {{ key }},
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date
    from {{ ref('fct_activity_daily') }}
    group by client_id, {{ key }}

),

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
