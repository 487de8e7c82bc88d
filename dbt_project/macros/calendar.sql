{# Calendar expressions of dim_dates, dispatched so a warehouse whose SQL spells them
   differently (Spark: `dayofweek`, `trunc`) adds its own versions. #}

{# ISO day of week of a date, 1 (Monday) to 7 (Sunday), as an integer. #}
{% macro iso_day_of_week(day) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'daybook')(day)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(day) -%}
    cast(extract(isodow from {{ day }}) as integer)
{%- endmacro %}

{# The first day of the `unit` (week: the ISO week, Monday first; month; quarter;
   year) holding a date, as a date. #}
{% macro period_start(unit, day) -%}
    {{ return(adapter.dispatch('period_start', 'daybook')(unit, day)) }}
{%- endmacro %}

{% macro default__period_start(unit, day) -%}
    cast({{ dbt.date_trunc(unit, 'cast(' ~ day ~ ' as timestamp)') }} as date)
{%- endmacro %}
