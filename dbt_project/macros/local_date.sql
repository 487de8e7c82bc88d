{# Local wall-clock time and calendar day of a UTC timestamp (without zone) in an IANA
   time zone, daylight-saving changes included. Dispatched per adapter so another
   warehouse adds its own `<adapter>__local_timestamp` without touching the models.
   The zone goes through `valid_timezone` first (unless the caller passes
   `checked=true` for a zone it already validated), so one client row with an unknown
   zone gives a null local time instead of failing the whole build. #}
{% macro local_timestamp(utc_timestamp, timezone, checked=false) -%}
    {%- set zone = timezone if checked else valid_timezone(timezone) -%}
    {{ return(adapter.dispatch('local_timestamp', 'daybook')(utc_timestamp, zone)) }}
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

{# Spark: `from_utc_timestamp` reads the value as UTC and gives the wall-clock time in
   the zone (java.time rules, DST included). Spark's `timestamp` values are instants
   shown in the session time zone, so the build pins the session to UTC
   (`session_time_zone`, on-run-start): every timestamp in raw is then read, compared
   and cast to a date as the UTC wall-clock time the contract means. #}
{% macro spark__local_timestamp(utc_timestamp, timezone) -%}
    from_utc_timestamp(cast({{ utc_timestamp }} as timestamp), {{ timezone }})
{%- endmacro %}

{# Whether a UTC timestamp's local day is a calendar day on every warehouse in every
   zone, with a day past it for the date spine's end: from 0001-01-02 to before
   9999-12-30 UTC (no zone is a day away from UTC). A heartbeat outside is quarantined
   (`generated_at_out_of_range`) and an entity's creation day outside is unknown: a
   clock at .NET's zero gave year 0 in New York and one at year 10000 a spine past it,
   and either stopped every build. #}
{% macro has_calendar_day(utc_timestamp) -%}
    ({{ utc_timestamp }} >= cast('0001-01-02 00:00:00' as {{ dbt.type_timestamp() }})
    and {{ utc_timestamp }} < cast('9999-12-30 00:00:00' as {{ dbt.type_timestamp() }}))
{%- endmacro %}

{# An entity's local creation day: null when its creation time has no calendar day on
   every warehouse (`has_calendar_day`) or its client's zone is unknown. #}
{% macro local_creation_date(created_at, timezone) -%}
    case when {{ has_calendar_day(created_at) }} then {{ local_date(created_at, timezone) }} end
{%- endmacro %}

{# The local calendar day: what "local day" means in the contract. #}
{% macro local_date(utc_timestamp, timezone, checked=false) -%}
    {{ return(adapter.dispatch('local_date', 'daybook')(utc_timestamp, timezone, checked)) }}
{%- endmacro %}

{% macro default__local_date(utc_timestamp, timezone, checked=false) -%}
    cast({{ local_timestamp(utc_timestamp, timezone, checked) }} as date)
{%- endmacro %}

{# The name the database's conversion should read a client's zone under, when the zone
   is valid; else null. Converting with a null zone yields null, never "Unknown
   TimeZone", so the check sits inside the conversion's argument rather than in a CASE
   around it (DuckDB may evaluate CASE branches eagerly). Each catalogue is the
   database's own (offline), less the names below that only that catalogue holds; the
   IN subquery is uncorrelated, so it runs once per query, not per row. #}
{% macro valid_timezone(timezone) -%}
    {{ return(adapter.dispatch('valid_timezone', 'daybook')(timezone)) }}
{%- endmacro %}

{# Unknown warehouse: no catalogue to check against; the name passes unchanged. #}
{% macro default__valid_timezone(timezone) -%}
    ({{ timezone }})
{%- endmacro %}

{# Zone names of the tz database that some reader takes for something else, and the
   name that reads the same rules everywhere. `EST`, `MST` and `HST` are read as the
   fixed offsets the tz database defined them as until release 2024b, as Debian's zone
   files, Python's zoneinfo over them and PostgreSQL's abbreviations still do (2024b made
   them links to Panama, Phoenix and Honolulu, which ICU follows: MST in 1967 and HST
   before 1947 differ); Java knows none of the three, nor `Factory` (offset zero). #}
{% macro zone_rules_name(timezone) -%}
    (case ({{ timezone }})
        when 'EST' then 'Etc/GMT+5'
        when 'MST' then 'Etc/GMT+7'
        when 'HST' then 'Etc/GMT+10'
        when 'Factory' then 'Etc/UTC'
        else ({{ timezone }}) end)
{%- endmacro %}

{# A zone is valid when it is a name of the IANA tz database (what Python's zoneinfo
   lists), on every warehouse alike. Each catalogue holds more: DuckDB's (ICU) Java's
   three-letter ids (`IST`, `PST`, `CST`: IST is India there, Israel or Ireland
   elsewhere), `SystemV/*` and two names the tz database dropped; PostgreSQL's its
   `posix/*` copies, `posixrules` and `localtime`. A client with one of those counted
   on one warehouse and was quarantined on the other, so they are refused by name. #}
{% macro duckdb__valid_timezone(timezone) -%}
    {%- set icu_only_zones = [
        'ACT', 'AET', 'AGT', 'ART', 'AST', 'BET', 'BST', 'CAT', 'CNT', 'CST', 'CTT', 'EAT',
        'ECT', 'IET', 'IST', 'JST', 'MIT', 'NET', 'NST', 'PLT', 'PNT', 'PRT', 'PST', 'SST',
        'VST', 'Canada/East-Saskatchewan', 'US/Pacific-New',
    ] -%}
    (case when ({{ timezone }}) in (select name from pg_timezone_names())
        and ({{ timezone }}) not like 'SystemV/%'
        and ({{ timezone }}) not in ('{{ icu_only_zones | join("', '") }}')
        then {{ zone_rules_name(timezone) }} end)
{%- endmacro %}

{# PostgreSQL reads a zone name that is also one of its abbreviations as the
   abbreviation, a fixed offset: `CET`, `EET`, `MET` and `WET` would never observe
   summer time. Their `posix/` copies (the same zone files, where the server's zone
   database has them, as Debian's does) are read as zones; without them, the zones
   the tz database links these names to since 2024b. #}
{% macro postgres__valid_timezone(timezone) -%}
    {%- set linked = {
        'CET': 'Europe/Brussels', 'MET': 'Europe/Brussels',
        'EET': 'Europe/Athens', 'WET': 'Europe/Lisbon',
    } -%}
    (case when ({{ timezone }}) in (select name from pg_catalog.pg_timezone_names)
        and ({{ timezone }}) not like 'posix/%'
        and ({{ timezone }}) not in ('posixrules', 'localtime')
        then (case
            when ({{ timezone }}) in ('{{ linked | join("', '") }}')
                and 'posix/' || ({{ timezone }}) in (select name from pg_catalog.pg_timezone_names)
                then 'posix/' || ({{ timezone }})
            {% for name, zone in linked.items() -%}
            when ({{ timezone }}) = '{{ name }}' then '{{ zone }}'
            {% endfor -%}
            else {{ zone_rules_name(timezone) }} end)
        end)
{%- endmacro %}


{#- Spark has no zone catalogue table: `java.time.ZoneId.of` is the zone database
    `from_utc_timestamp` uses, called through `try_reflect` (null for a name it does not
    know, so an unknown zone never fails the build). Java's zone rules still hold the
    `SystemV/*` names the tz database dropped: refused, as on DuckDB. Only names
    spelled exactly (`America/New_York`, `UTC`) pass: fixed offsets such as `+05:00`, which
    ZoneId also accepts, are refused as on PostgreSQL. #}
{% macro spark__valid_timezone(timezone) -%}
    {%- set rules = zone_rules_name(timezone) -%}
    (case when try_reflect('java.time.ZoneId', 'of', {{ rules }}) = {{ rules }}
        and ({{ timezone }}) rlike '^[A-Za-z]'
        and ({{ timezone }}) not like 'SystemV/%'
        then {{ rules }} end)
{%- endmacro %}

{# Whether validation finds local days once per (zone, UTC hour) and reuses the hour's
   offset (`int_heartbeats_validated`: `local_hours`, `hour_offsets`) instead of
   converting every heartbeat. DuckDB converts through ICU, which is costly per row, so
   grouping the hours first wins there. PostgreSQL converts each row faster than it
   groups 25M heartbeats by hour and joins them back: validation's statement took
   63.4 s per row against 101.4 s by hour on the bench's 25M heartbeats (one session,
   `work_mem` 4MB), so it converts per row. So does Spark, whose conversion (java.time,
   zone rules cached) is cheap and whose plan for the hours read the heartbeats twice
   and shuffled them into the join back: validation's statement on 5M heartbeats on
   `local[2]` took 35.2 s per row against 48.6 s by hour (computing alone: 9.7 s against
   25.0 s). #}
{% macro local_days_by_hour() -%}
    {{ return(adapter.dispatch('local_days_by_hour', 'daybook')()) }}
{%- endmacro %}

{% macro default__local_days_by_hour() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro postgres__local_days_by_hour() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro spark__local_days_by_hour() -%}
    {{ return(false) }}
{%- endmacro %}
