{# True when a raw (double precision) count is an integer >= 0, as the contract's
   validity rule asks: not null, not negative, not fractional, finite. NaN sorts
   above every number on both DuckDB and PostgreSQL, so the upper bound rejects
   it along with infinity and values too large for a bigint. #}
{% macro is_whole_count(column) -%}
    ({{ column }} is not null
        and {{ column }} >= 0
        and {{ column }} < 9.0e18
        and {{ column }} = floor({{ column }}))
{%- endmacro %}
