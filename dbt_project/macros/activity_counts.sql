{# The six activity counts a heartbeat carries, in the contract's order: five sources,
   then their total. The one list of them: staging types them, validation checks them,
   the facts sum them, the quarantine shows them. #}
{% macro activity_count_columns() -%}
    {{- return([
        'chrome_activity_count',
        'edge_activity_count',
        'firefox_activity_count',
        'desktop_activity_count',
        'web_accessibility_activity_count',
        'total_activity_count',
    ]) -}}
{%- endmacro %}

{# The five source counts whose sum must equal total_activity_count. #}
{% macro activity_source_columns() -%}
    {{- return(activity_count_columns()[:-1]) -}}
{%- endmacro %}

{# The measures of the activity facts: the six counts summed, then heartbeat_count. #}
{% macro activity_measure_columns() -%}
    {{- return(activity_count_columns() + ['heartbeat_count']) -}}
{%- endmacro %}

{# `columns` as a comma-separated select list, each prefixed with `prefix`. #}
{% macro column_list(columns, prefix='') -%}
    {%- for column in columns -%}
        {{ prefix }}{{ column }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{# `value` as a list: a config that names one column or several (`unique_key`,
   `partition_by`) as a list either way. #}
{% macro as_list(value) -%}
    {{- return([value] if value is string else value) -}}
{%- endmacro %}

{# The type raw counts are kept in (double precision), so that 2.5, -1, NaN and
   8e18 load and are quarantined instead of failing the load. dbt's own
   `type_float` is a 4-byte float on DuckDB, hence this macro. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'daybook')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{# Spark's name for the same 8-byte float. #}
{% macro spark__type_double() -%}
    double
{%- endmacro %}
