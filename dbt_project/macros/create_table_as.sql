{# PostgreSQL tables of contracted models, created with CREATE TABLE AS.

   dbt-postgres enforces a model contract by creating the table from the YAML's
   columns and then running INSERT INTO ... SELECT. PostgreSQL runs an INSERT's
   SELECT without parallel workers, and CREATE TABLE AS with them: building
   fct_activity_daily from 1.5M validated heartbeats took 21-26 s that way against
   6-9 s as CREATE TABLE AS. So this keeps dbt's contract check (the model's columns
   and types must equal the YAML's, or the build fails, before anything is written)
   and its column order (the YAML's, `get_select_subquery`), and creates the table
   with CREATE TABLE AS. What it leaves out is the DDL path's constraints: the marts
   declare none (their keys are checked by data tests); add one and it would be
   silently dropped, so `constraints` on a mart must come with a change here.
   Same arguments and behaviour as dbt-postgres' macro otherwise; dbt's dispatch
   finds it first because it lives in the root project. #}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
  {%- set unlogged = config.get('unlogged', default=false) -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {%- set contract_config = config.get('contract') -%}

  {{ sql_header if sql_header is not none }}

  {% if contract_config.enforced -%}
    {{ get_assert_columns_equivalent(sql) }}
    {%- set sql = get_select_subquery(sql) %}
  {%- endif %}
  create {% if temporary -%}
    temporary
  {%- elif unlogged -%}
    unlogged
  {%- endif %} table {{ relation }}
  as (
    {{ sql }}
  );
{%- endmacro %}

{# Spark: the marts' contracts name portable types (`text`, `double precision`), which
   Spark SQL does not parse. dbt checks a contract by casting null to each YAML type in
   the warehouse and comparing the result with the model's own column types, so this
   gives that check Spark's names for the same types (`string`, `double`); the check
   itself is dbt-spark's, unchanged and enforced: a column or type drift still fails the
   build before anything is written. dbt-spark can persist constraints only on Delta
   tables; the marts declare none (their keys are checked by data tests), so parquet
   tables lose nothing. #}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set spark_types = {
        'text': 'string', 'varchar': 'string', 'double precision': 'double',
        'integer': 'int',
    } -%}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() -%}
        {%- set declared = (column.get('data_type') or '') | trim | lower -%}
        {%- if declared in spark_types -%}
            {%- do column.update({'data_type': spark_types[declared]}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {%- for name in spark_partition_only_columns() -%}
        {%- do translated.update({name: {'name': name, 'data_type': 'date'}}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{%- endmacro %}

{# Spark: the contracted columns dbt selects when it creates a contracted table, plus the
   partition column the facts have only on Spark (`month_partition_column`), which a
   table must hold to be partitioned by it. #}
{% macro spark__get_column_names() -%}
    {{ default__get_column_names() }}
    {%- for name in spark_partition_only_columns() %}, {{ name }}{% endfor -%}
{%- endmacro %}

{# The partition columns of the model being built that its contract does not declare:
   `activity_month` on the facts (`month_partition_column`), none elsewhere. #}
{% macro spark_partition_only_columns() -%}
    {%- set declared = model['columns'] | default({}, true) -%}
    {%- set partitions = as_list(config.get('partition_by') or []) -%}
    {{ return(partitions | reject('in', declared) | list) }}
{%- endmacro %}
