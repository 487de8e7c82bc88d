{# Asserts that a model's grain holds: no two rows share the values of
   `combination_of_columns`. Our own version of the well-known package test
   (dbt hub packages are out of reach here). #}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select
        {{ columns_csv }},
        count(*) as duplicate_rows
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
