{# Schemas as the architecture fixes them: a model's custom schema (`staging`,
   `intermediate`) is used as-is, without dbt's default `<target>_<custom>` prefix,
   and models without one (the marts) land in the warehouse's default schema
   (`main` on DuckDB, `public` on PostgreSQL), where BI tools find them unqualified. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
