{# A raw id column as text, an empty string counting as missing (null): the one rule
   for ids delivered in raw. #}
{% macro raw_id(column) -%}
    nullif(cast({{ column }} as {{ dbt.type_string() }}), '')
{%- endmacro %}
