{# The calendar day of a UTC timestamp (without zone) in an IANA time zone,
   daylight-saving changes included. Dispatched per adapter so another warehouse
   adds its own `<adapter>__local_date` without touching the models. #}
{% macro local_date(utc_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_date', 'daybook')(utc_timestamp, timezone)) }}
{%- endmacro %}

{# SQL-standard form: interpret the value as UTC, then convert to the zone. #}
{% macro default__local_date(utc_timestamp, timezone) -%}
    cast((({{ utc_timestamp }}) at time zone 'UTC') at time zone ({{ timezone }}) as date)
{%- endmacro %}

{# DuckDB: ICU is built in; `ts at time zone 'UTC'` gives a timestamptz, and
   `timestamptz at time zone tz` the local wall-clock time. Works offline. #}
{% macro duckdb__local_date(utc_timestamp, timezone) -%}
    cast(((cast({{ utc_timestamp }} as timestamp)) at time zone 'UTC') at time zone ({{ timezone }}) as date)
{%- endmacro %}

{# PostgreSQL: the same two conversions, with the zone database of the server. #}
{% macro postgres__local_date(utc_timestamp, timezone) -%}
    cast(((cast({{ utc_timestamp }} as timestamp)) at time zone 'UTC') at time zone ({{ timezone }}) as date)
{%- endmacro %}
