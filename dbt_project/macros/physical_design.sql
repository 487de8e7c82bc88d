{# How each warehouse stores and maintains the large models. Every adapter difference
   is dispatched (`adapter.dispatch(name, 'daybook')`): `default__` is the portable
   behaviour (nothing), `postgres__` / `duckdb__` the tuned ones, and another adapter
   (Spark) adds its own `spark__` versions here without touching a model. #}

{# The `indexes` config of a model: PostgreSQL builds them after each (re)build and
   reads the API's access paths through them; DuckDB gets none, because its ART
   indexes cost memory and insert speed and it prunes by zone maps instead (see
   `cluster_by_keys`). #}
{% macro adapter_indexes(indexes) -%}
    {{ return(adapter.dispatch('adapter_indexes', 'daybook')(indexes)) }}
{%- endmacro %}

{% macro default__adapter_indexes(indexes) -%}
    {{ return([]) }}
{%- endmacro %}

{% macro postgres__adapter_indexes(indexes) -%}
    {{ return(indexes) }}
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

{# A post-hook refreshing the planner's statistics of a large incremental model.
   Why on PostgreSQL: a table just created by a full build has none until autovacuum
   comes by, and without them the planner assumed a third of the rows matched each
   refresh's watermark and scanned the whole history. ANALYZE samples a fixed number
   of rows, so its cost does not grow with the table. #}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics', 'daybook')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    analyze {{ this }}
{%- endmacro %}

{# A pre-hook of incremental runs: session settings for one model's transaction.
   Why on PostgreSQL: no JIT compilation. The planner's row estimates for a refresh's
   small CTEs are large, so JIT kicked in and spent 2.4 s compiling each dense fact's
   query, which then handled a few thousand rows. Full builds keep the server's
   setting. #}
{% macro incremental_session_settings() -%}
    {{ return(adapter.dispatch('incremental_session_settings', 'daybook')()) }}
{%- endmacro %}

{% macro default__incremental_session_settings() -%}
{%- endmacro %}

{% macro postgres__incremental_session_settings() -%}
    {%- if is_incremental() -%}
        set local jit = off
    {%- endif -%}
{%- endmacro %}

{# A post-hook of int_heartbeats_validated: a partial index over the quarantined rows,
   which the quarantine view (and its unique test) read on PostgreSQL. #}
{% macro index_quarantined_heartbeats() -%}
    {{ return(adapter.dispatch('index_quarantined_heartbeats', 'daybook')()) }}
{%- endmacro %}

{% macro default__index_quarantined_heartbeats() -%}
{%- endmacro %}

{% macro postgres__index_quarantined_heartbeats() -%}
    create index if not exists int_heartbeats_validated_quarantined
        on {{ this }} (heartbeat_key) where not is_valid
{%- endmacro %}

{# An index on `relation`'s `column`, created with the table it belongs to (a table
   outside dbt's models, in `daybook_meta`): PostgreSQL reads it by that column. #}
{% macro index_meta_table(relation, index_name, column) -%}
    {{ return(adapter.dispatch('index_meta_table', 'daybook')(relation, index_name, column)) }}
{%- endmacro %}

{% macro default__index_meta_table(relation, index_name, column) -%}
{%- endmacro %}

{% macro postgres__index_meta_table(relation, index_name, column) -%}
    create index if not exists {{ index_name }} on {{ relation }} ({{ column }});
{%- endmacro %}
