{# Asserts that every item of a `separator`-separated list column is one of
   `values` (e.g. the quarantine's `invalid_reasons`). Longest values are removed
   first so a value that contains another is not half removed; whatever is left
   besides separators is an unexpected item. #}
{% test accepted_list_values(model, column_name, values, separator=',') %}
    {%- set remaining = namespace(sql=column_name) %}
    {%- set longest = values | map('length') | max %}
    {%- for size in range(longest, 0, -1) %}
        {%- for value in values if value | length == size %}
            {%- set remaining.sql = "replace(" ~ remaining.sql ~ ", '" ~ value ~ "', '')" %}
        {%- endfor %}
    {%- endfor %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and replace({{ remaining.sql }}, '{{ separator }}', '') <> ''
{% endtest %}
