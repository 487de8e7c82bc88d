{# The start of this dbt invocation as a UTC timestamp literal. Every model of one
   run stamps the same value, which the incremental models use as watermarks
   (`processed_at_utc`, `refreshed_at_utc`). #}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{# A timestamp older than any data, for empty-table watermarks. #}
{% macro epoch_timestamp() -%}
    cast('1900-01-01 00:00:00' as timestamp)
{%- endmacro %}

{# The single timestamp `sql` selects, read now and written into the model's SQL as
   a literal; none when it selects NULL. Why a literal and not a subquery: PostgreSQL
   plans `column > (select max(...) ...)` without knowing the value, assumes it keeps
   a third of the rows, and so scanned the whole heartbeat history on every refresh
   (84 s at 25 million heartbeats); with the value known it reads the index. Only
   called at execution (`execute`); at parse time it returns none. #}
{% macro timestamp_literal(sql) -%}
    {{- return(query_literal(sql, 'timestamp', '%Y-%m-%d %H:%M:%S.%f')) -}}
{%- endmacro %}

{# The newest `column` of `relation` as a literal, or the epoch when it is empty. #}
{% macro max_timestamp(column, relation) -%}
    {%- set literal = timestamp_literal('select max(' ~ column ~ ') from ' ~ relation) -%}
    {{- literal if literal is not none else epoch_timestamp() -}}
{%- endmacro %}

{# The single date `sql` selects, as a literal (for the same reason as
   `timestamp_literal`); none when it selects NULL. #}
{% macro date_literal(sql) -%}
    {{- return(query_literal(sql, 'date', '%Y-%m-%d')) -}}
{%- endmacro %}

{# The single value `sql` selects, run now, as `cast('<value in format>' as <type>)`;
   none when it selects NULL, and at parse time (no `execute`). #}
{% macro query_literal(sql, type, format) -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set value = run_query(sql).columns[0].values()[0] -%}
    {%- if value is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {#- the year written with four digits: strftime's %Y gives '1' for year 1 on glibc,
        which no warehouse reads as a date -#}
    {%- set text = value.strftime(format | replace('%Y', '%04d' | format(value.year)))
        if value.strftime is defined else value -%}
    {{- return("cast('" ~ text ~ "' as " ~ type ~ ")") -}}
{%- endmacro %}
