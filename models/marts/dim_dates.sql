{#- One row per calendar day from `daybook_dates_start` to `daybook_dates_end`
    (exclusive): the date spine the dense facts and the API's buckets join. -#}
with

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('daybook_dates_start') ~ "' as date)",
        "cast('" ~ var('daybook_dates_end') ~ "' as date)",
    ) }}

),

days as (

    select cast(date_day as date) as date_day from spine

),

described as (

    select
        date_day,
        cast(extract(isodow from date_day) as integer) as day_of_week,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(month from date_day) as integer) as month_of_year,
        cast(extract(quarter from date_day) as integer) as quarter_of_year,
        cast(extract(year from date_day) as integer) as year_number,
        cast(date_trunc('week', cast(date_day as timestamp)) as date) as week_start_date,
        cast(date_trunc('month', cast(date_day as timestamp)) as date) as month_start_date,
        cast(date_trunc('quarter', cast(date_day as timestamp)) as date) as quarter_start_date,
        cast(date_trunc('year', cast(date_day as timestamp)) as date) as year_start_date,
        cast(extract(isodow from date_day) as integer) >= 6 as is_weekend
    from days

)

select * from described
{{ cluster_by_keys(['date_day']) }}
