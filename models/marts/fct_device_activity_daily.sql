{#- One row per client, device and local day, dense: every day from the device's first
    day (`dim_devices.active_from_date`: its local creation day or first active day,
    whichever is earlier) to the latest local day with valid activity anywhere in
    the warehouse, zero-filled, joined to the date spine. -#}
{{
    config(
        indexes=postgres_indexes([
            {'columns': ['client_id', 'device_id', 'activity_date'], 'unique': true},
        ]),
    )
}}

{%- set measures = [
    'chrome_activity_count',
    'edge_activity_count',
    'firefox_activity_count',
    'desktop_activity_count',
    'web_accessibility_activity_count',
    'total_activity_count',
    'heartbeat_count',
] -%}

with

entities as (

    select client_id, device_id, active_from_date
    from {{ ref('dim_devices') }}
    where active_from_date is not null

),

activity as (

    select * from {{ ref('fct_activity_daily') }}

),

last_day as (

    select max(activity_date) as last_activity_date from activity

),

dates as (

    select dim_dates.date_day
    from {{ ref('dim_dates') }} as dim_dates
    cross join last_day
    where dim_dates.date_day <= last_day.last_activity_date
        and dim_dates.date_day >= (select min(active_from_date) from entities)

),

spined as (

    select
        entities.client_id,
        entities.device_id,
        dates.date_day as activity_date
    from entities
    inner join dates on dates.date_day >= entities.active_from_date

),

daily as (

    select
        client_id,
        device_id,
        activity_date,
        {% for measure in measures -%}
        sum({{ measure }}) as {{ measure }},
        {% endfor -%}
        count(distinct user_id) as user_count
    from activity
    group by client_id, device_id, activity_date

),

final as (

    select
        ----------  grain
        spined.client_id,
        spined.device_id,
        spined.activity_date,

        ----------  measures (0 on days without valid activity)
        {% for measure in measures -%}
        cast(coalesce(daily.{{ measure }}, 0) as bigint) as {{ measure }},
        {% endfor -%}
        cast(coalesce(daily.user_count, 0) as bigint) as user_count

    from spined
    left join daily
        on daily.client_id = spined.client_id
        and daily.device_id = spined.device_id
        and daily.activity_date = spined.activity_date

)

select * from final
{{ cluster_by_keys(['client_id', 'device_id', 'activity_date']) }}
