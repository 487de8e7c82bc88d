{# A predicate: `timestamp` lies in the years 1 to 9999, the instants Python's datetime
   and Spark hold (DuckDB and PostgreSQL hold more). `daybook load` refuses any other;
   a received time outside them written straight into raw is left out of the times
   Python reads (`fct_client_freshness`). `daybook.raw_schema.within_years` is the same
   predicate for Daybook's own queries. #}
{% macro within_years(timestamp) -%}
    {{ timestamp }} between cast('0001-01-01 00:00:00' as {{ dbt.type_timestamp() }})
        and cast('9999-12-31 23:59:59.999999' as {{ dbt.type_timestamp() }})
{%- endmacro %}
