{# One text of a row's `columns`, each cast to text (null as ''), joined by '|': the
   content a heartbeat without a heartbeat_id is keyed by. #}
{% macro content_fingerprint(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '')
        {{- " || '|' || " if not loop.last -}}
    {%- endfor -%}
{%- endmacro %}

{# What the facts depend on of a user or device row (int_entity_versions): its client
   and creation time, hashed. #}
{% macro owner_fingerprint() -%}
    {{ dbt.hash("coalesce(client_id, '<null>') || '|' || coalesce(cast(created_at as "
        ~ dbt.type_string() ~ "), '<null>')") }}
{%- endmacro %}

{# What the facts depend on of a client row (int_entity_versions): its zone as
   delivered and whether the database knows it, hashed. #}
{% macro zone_fingerprint() -%}
    {{ dbt.hash("coalesce(timezone, '<null>') || '|' || coalesce("
        ~ valid_timezone('timezone') ~ ", '<unknown>')") }}
{%- endmacro %}
