{# The contract's bound on a count (section 1): an integer from 0 to 2,147,483,647.
   Why a bound at all: counts are summed per user, device and day (as bigint), and
   two counts of 8e18 overflowed the sum and failed every build, for every tenant.
   Bounded counts cannot overflow a bigint sum in practice (it would take four
   billion heartbeats in one user-device-day). #}
{% macro max_activity_count() -%}
    2147483647
{%- endmacro %}

{# True when a raw (double precision) count is a whole number from 0 to the bound:
   not null, not negative, not fractional, not NaN or infinite, not too large. NaN
   sorts above every number on both DuckDB and PostgreSQL, so the upper bound
   rejects it along with infinity. #}
{% macro is_whole_count(column) -%}
    ({{ column }} is not null
        and {{ column }} >= 0
        and {{ column }} <= {{ max_activity_count() }}
        and {{ is_integral(column) }})
{%- endmacro %}

{# True when a (double) value has no fractional part. Spark's `floor` returns a bigint
   and, in ANSI mode (Spark 4's default), fails the whole query on a value beyond the
   bigint range (8e18 is fine, 1e300 is not), so Spark tests the remainder instead
   (NaN and infinity give a NaN remainder: false). #}
{% macro is_integral(column) -%}
    {{ return(adapter.dispatch('is_integral', 'daybook')(column)) }}
{%- endmacro %}

{% macro default__is_integral(column) -%}
    {{ column }} = floor({{ column }})
{%- endmacro %}

{% macro spark__is_integral(column) -%}
    {{ column }} % 1 = 0
{%- endmacro %}

{# True when a raw count is a number above the bound (infinity included): quarantined
   as `count_out_of_range`. NaN is not a number above anything: it is an
   `invalid_count`, like null, negative and fractional counts. #}
{% macro is_count_out_of_range(column) -%}
    ({{ column }} is not null
        and {{ column }} > {{ max_activity_count() }}
        and {{ column }} <> cast('NaN' as {{ type_double() }}))
{%- endmacro %}

{# True when every one of `columns` is a whole count. #}
{% macro all_whole_counts(columns) -%}
    ({% for column in columns %}{{ is_whole_count(column) }}{{ ' and ' if not loop.last }}{% endfor %})
{%- endmacro %}

{# True when any of `columns` is above the bound (`count_out_of_range`). #}
{% macro any_count_out_of_range(columns) -%}
    ({% for column in columns %}{{ is_count_out_of_range(column) }}{{ ' or ' if not loop.last }}{% endfor %})
{%- endmacro %}

{# True when any of `columns` is neither whole nor above the bound (`invalid_count`:
   null, NaN, negative, fractional). #}
{% macro any_invalid_count(columns) -%}
    ({% for column in columns -%}
        (not {{ is_whole_count(column) }} and not {{ is_count_out_of_range(column) }})
        {{- ' or ' if not loop.last }}
    {%- endfor %})
{%- endmacro %}
