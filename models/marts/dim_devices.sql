{#- One row per device of a known client, with its local creation day and the span
    of days the dense fact `fct_device_activity_daily` covers for it. -#}
{{ entity_dimension('device', ['hostname', 'platform']) }}
