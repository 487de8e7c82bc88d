{# Indexes for the API's access paths, on PostgreSQL only. dbt-postgres creates
   them after each (re)build from the `indexes` config; DuckDB gets none, because
   its ART indexes cost memory and insert speed, and it prunes by zone maps instead
   (see `cluster_by_keys`). #}
{% macro postgres_indexes(indexes) -%}
    {%- if target.type == 'postgres' -%}
        {{ return(indexes) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}

{# An `order by` closing a model's select on DuckDB, so rows are stored sorted by
   the keys the API filters on and min/max zone maps skip row groups. Other
   adapters keep their natural order (PostgreSQL uses the indexes above). #}
{% macro cluster_by_keys(columns) -%}
    {{ return(adapter.dispatch('cluster_by_keys', 'daybook')(columns)) }}
{%- endmacro %}

{% macro default__cluster_by_keys(columns) -%}
{%- endmacro %}

{% macro duckdb__cluster_by_keys(columns) -%}
    order by {{ columns | join(', ') }}
{%- endmacro %}

{# A post-hook refreshing PostgreSQL's statistics of a large incremental model.
   Why: a table just created by a full build has none until autovacuum comes by,
   and without them the planner assumed a third of the rows matched each refresh's
   watermark and scanned the whole history. ANALYZE samples a fixed number of rows,
   so its cost does not grow with the table. #}
{% macro analyze_on_postgres() -%}
    {%- if target.type == 'postgres' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{# A pre-hook for PostgreSQL incremental runs: no JIT compilation in this model's
   transaction. Why: the planner's row estimates for a refresh's small CTEs are large,
   so JIT kicked in and spent 2.4 s compiling each dense fact's query, which then
   handled a few thousand rows. Full builds keep the server's setting. #}
{% macro incremental_session_on_postgres() -%}
    {%- if target.type == 'postgres' and is_incremental() -%}
        set local jit = off
    {%- endif -%}
{%- endmacro %}
