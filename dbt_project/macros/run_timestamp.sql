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
