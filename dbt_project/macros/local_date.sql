{# Local wall-clock time and calendar day of a UTC timestamp (without zone) in an IANA
   time zone, daylight-saving changes included. Dispatched per adapter so another
   warehouse adds its own `<adapter>__local_timestamp` without touching the models. #}
{% macro local_timestamp(utc_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_timestamp', 'daybook')(utc_timestamp, timezone)) }}
{%- endmacro %}

{# SQL-standard form: interpret the value as UTC, then convert to the zone. #}
{% macro default__local_timestamp(utc_timestamp, timezone) -%}
    ((({{ utc_timestamp }}) at time zone 'UTC') at time zone ({{ timezone }}))
{%- endmacro %}

{# DuckDB: ICU is built in; `ts at time zone 'UTC'` gives a timestamptz, and
   `timestamptz at time zone tz` the local wall-clock time. Works offline. #}
{% macro duckdb__local_timestamp(utc_timestamp, timezone) -%}
    (((cast({{ utc_timestamp }} as timestamp)) at time zone 'UTC') at time zone ({{ timezone }}))
{%- endmacro %}

{# PostgreSQL: the same two conversions, with the server's zone database. #}
{% macro postgres__local_timestamp(utc_timestamp, timezone) -%}
    (((cast({{ utc_timestamp }} as timestamp)) at time zone 'UTC') at time zone ({{ timezone }}))
{%- endmacro %}

{# The local calendar day: what "local day" means in the contract. #}
{% macro local_date(utc_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_date', 'daybook')(utc_timestamp, timezone)) }}
{%- endmacro %}

{% macro default__local_date(utc_timestamp, timezone) -%}
    cast({{ local_timestamp(utc_timestamp, timezone) }} as date)
{%- endmacro %}
