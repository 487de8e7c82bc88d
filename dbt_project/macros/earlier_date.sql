{# The earlier of two dates, either of which may be null (then the other one). #}
{% macro earlier_date(first, second) -%}
    case
        when {{ first }} is null then {{ second }}
        when {{ second }} is null then {{ first }}
        when {{ second }} < {{ first }} then {{ second }}
        else {{ first }}
    end
{%- endmacro %}
