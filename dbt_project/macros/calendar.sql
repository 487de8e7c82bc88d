{# Calendar expressions of dim_dates, dispatched so a warehouse whose SQL spells them
   differently (Spark: `dayofweek`, `trunc`) adds its own versions. #}

{# ISO day of week of a date, 1 (Monday) to 7 (Sunday), as an integer. #}
{% macro iso_day_of_week(day) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'daybook')(day)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(day) -%}
    cast(extract(isodow from {{ day }}) as integer)
{%- endmacro %}

{# Spark: `weekday` counts from 0 (Monday). #}
{% macro spark__iso_day_of_week(day) -%}
    cast(weekday({{ day }}) + 1 as integer)
{%- endmacro %}

{# The first day of the `unit` (week: the ISO week, Monday first; month; quarter;
   year) holding a date, as a date. #}
{% macro period_start(unit, day) -%}
    {{ return(adapter.dispatch('period_start', 'daybook')(unit, day)) }}
{%- endmacro %}

{% macro default__period_start(unit, day) -%}
    cast({{ dbt.date_trunc(unit, 'cast(' ~ day ~ ' as timestamp)') }} as date)
{%- endmacro %}

{# Spark: a date (not a timestamp) truncated directly, so the session time zone never
   moves a day across midnight. #}
{% macro spark__period_start(unit, day) -%}
    {%- if unit == 'week' -%}
    date_sub({{ day }}, weekday({{ day }}))
    {%- else -%}
    trunc({{ day }}, '{{ unit }}')
    {%- endif -%}
{%- endmacro %}

{# One row per day from `start_date` to `end_date` (exclusive), as `date_day`: the date
   spine of dim_dates. The portable version is dbt's own `date_spine` (a generated
   series of cross joins); Spark generates the days with `sequence` in one row and
   explodes it. #}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'daybook')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    {{ dbt.date_spine('day', start_date, end_date) }}
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    select explode(sequence({{ start_date }}, date_sub({{ end_date }}, 1), interval 1 day)) as date_day
{%- endmacro %}

{# The spine's first day and its exclusive end, as 'YYYY-MM-DD' strings: the configured
   years (`daybook_dates_start`, `daybook_dates_end`) widened to every day an entity's
   life in `spans` covers (int_entity_spans: active_from_date to last_active_date). A
   valid heartbeat may carry any date (a device clock reset to 1970-01-01 00:00 UTC is
   1969-12-31 in New York), and a day outside the spine would fail the facts'
   relationship tests and leave the dense facts without that day. #}
{% macro spine_bounds(spans) -%}
    {%- set first = var('daybook_dates_start') -%}
    {%- set end = var('daybook_dates_end') -%}
    {#- the relation is missing only where nothing is built (sqlfluff's templater) -#}
    {%- if execute and load_relation(spans) is not none -%}
        {%- set found = run_query(
            'select min(active_from_date), max(last_active_date) from ' ~ spans
        ).rows[0] -%}
        {%- if found[0] is not none and found[0].isoformat()[:10] < first -%}
            {%- set first = found[0].isoformat()[:10] -%}
        {%- endif -%}
        {%- if found[1] is not none and found[1].isoformat()[:10] >= end -%}
            {%- set end = (found[1] + modules.datetime.timedelta(days=1)).isoformat()[:10] -%}
        {%- endif -%}
    {%- endif -%}
    {{- return([first, end]) -}}
{%- endmacro %}
