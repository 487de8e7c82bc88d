{#- One row per user of a known client (one whose client is not in dim_clients is
    left out: its heartbeats are quarantined), with its local creation day and the
    span of days the dense fact `fct_user_activity_daily` covers for it
    (`int_entity_spans`). -#}
with

users as (

    select * from {{ ref('int_users_deduplicated') }}

),

spans as (

    select * from {{ ref('int_entity_spans') }}
    where entity_type = 'user'

),

final as (

    select
        users.user_id,
        users.client_id,
        users.email,
        users.display_name,
        users.created_at,
        spans.created_date,
        spans.first_active_date,
        spans.last_active_date,
        spans.active_from_date
    from users
    inner join spans on spans.entity_id = users.user_id

)

select * from final
