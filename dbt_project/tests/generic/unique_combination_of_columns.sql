{# Asserts that a model's grain holds: no two rows share the values of
   `combination_of_columns` (a null equals a null here, as in `group by`). Our own
   version of the well-known package test (dbt hub packages are out of reach here).

   Where a unique index covers the columns (`unique_index_holds`, PostgreSQL), rows
   whose columns are all non-null cannot repeat, so only rows with a null among them
   are grouped: an index treats nulls as distinct, this test does not. #}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select
        {{ columns_csv }},
        count(*) as duplicate_rows
    from {{ model }}
    where not {{ unique_index_holds(model, combination_of_columns) }}
        {%- for column in combination_of_columns %}
        or {{ column }} is null
        {%- endfor %}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
