{#- One row per user of a known client, with its local creation day and the span
    of days the dense fact `fct_user_activity_daily` covers for it. -#}
{{ entity_dimension('user', ['email', 'display_name']) }}
