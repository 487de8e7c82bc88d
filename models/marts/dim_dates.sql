{#- One row per calendar day from `daybook_dates_start` to `daybook_dates_end`
    (exclusive), widened to every day of an entity's life in the warehouse
    (`spine_bounds`: a valid heartbeat or a creation time may fall outside those
    years): the date spine the dense facts join, with calendar attributes for BI tools.

    The bucket starts (week_start_date: the ISO Monday; month, quarter and year
    starts) are contract columns for BI tools that join the spine. They are not a
    second definition of the API's buckets: the API's one definition is
    `daybook/semantic/calendar.py` (`GRANULARITY`, from which the compiler's SQL
    comes), and the compiler never reads this table, because a request may ask for
    any date, outside the spine's years too. tests/warehouse/test_marts.py checks
    these columns against the same independent reference as the API's buckets. -#}
{%- set first_day, end_day = spine_bounds(ref('int_entity_spans')) %}

with

spine as (

    {{ days_between(
        "cast('" ~ first_day ~ "' as date)",
        "cast('" ~ end_day ~ "' as date)",
    ) }}

),

days as (

    select cast(date_day as date) as date_day from spine

),

described as (

    select
        date_day,
        {{ iso_day_of_week('date_day') }} as day_of_week,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(month from date_day) as integer) as month_of_year,
        cast(extract(quarter from date_day) as integer) as quarter_of_year,
        cast(extract(year from date_day) as integer) as year_number,
        {%- for unit in ['week', 'month', 'quarter', 'year'] %}
        {{ period_start(unit, 'date_day') }} as {{ unit }}_start_date,
        {%- endfor %}
        {{ iso_day_of_week('date_day') }} >= 6 as is_weekend
    from days

)

select * from described
{{ cluster_by_keys(['date_day']) }}
