{# The first row per key of a relation under an ordering: portable deduplication
   (no QUALIFY on PostgreSQL), used for raw entities that may repeat. #}
{% macro keep_first_per_key(relation, key, order_by) -%}
    select *
    from (
        select
            ranked_source.*,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as _row_rank
        from {{ relation }} as ranked_source
        where {{ key }} is not null
    ) as ranked
    where _row_rank = 1
{%- endmacro %}
