{# Uniqueness tests that trust a unique index the database already enforces.

   Why: on PostgreSQL every large model carries a unique index on its grain
   (`adapter_indexes`: the heartbeat key, the dense facts' (client, entity, day)), and
   dbt's tests re-prove what the index guarantees by sorting the whole table. The two
   heartbeat key tests cost 19.4 s + 19.7 s at 25M heartbeats and sit on the build's
   critical path (dbt runs a model's children after its tests; bench run
   20261204T193706Z), the dense facts' grain tests 11.0 s and more.

   Exact, not assumed: the test still runs, and asks the catalogue at execution time
   whether a valid, immediately checked, non-partial unique index on plain columns
   covers the tested columns. When one does, the table scan below it is gated off by
   a one-time filter (PostgreSQL evaluates the uncorrelated `exists` once, and its
   plan shows the scan "never executed"); when none does (dropped, partial, invalid,
   on an expression, on other columns), the test reads the table as dbt's does. #}

{# A SQL boolean: true when a unique index of `model` guarantees that rows whose
   `columns` are all non-null never share them. `false` where Daybook builds no
   indexes (DuckDB, Spark). #}
{% macro unique_index_holds(model, columns) -%}
    {{ return(adapter.dispatch('unique_index_holds', 'daybook')(model, columns)) }}
{%- endmacro %}

{% macro default__unique_index_holds(model, columns) -%}
    false
{%- endmacro %}

{% macro postgres__unique_index_holds(model, columns) -%}
    {#- an index on a subset of the columns is enough: equal on all, equal on those -#}
    exists (
        select 1
        from pg_catalog.pg_index as unique_index
        where unique_index.indrelid = to_regclass('{{ model | replace("'", "''") }}')
            and unique_index.indisunique
            and unique_index.indisvalid
            and unique_index.indimmediate
            and unique_index.indpred is null
            and unique_index.indexprs is null
            and not exists (
                select 1
                from unnest(unique_index.indkey::int2 []) with ordinality
                    as index_key (attnum, position)
                left join pg_catalog.pg_attribute as indexed_column
                    on indexed_column.attrelid = unique_index.indrelid
                    and indexed_column.attnum = index_key.attnum
                where index_key.position <= unique_index.indnkeyatts
                    and (
                        indexed_column.attname is null
                        or indexed_column.attname not in (
                            {%- for column in columns -%}
                            '{{ column | replace("'", "''") }}'{{ ', ' if not loop.last }}
                            {%- endfor -%}
                        )
                    )
            )
    )
{%- endmacro %}

{# dbt's `unique` test on PostgreSQL: dbt's own query (nulls are not duplicates), read
   only when no unique index on the column guarantees it. #}
{% macro postgres__test_unique(model, column_name) -%}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
        and not {{ unique_index_holds(model, [column_name]) }}
    group by {{ column_name }}
    having count(*) > 1
{%- endmacro %}
