SELECT
  CAST(DATE_TRUNC('MONTH', activity_date) AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = %(tenant_id)s
  AND device_id = %(entity_id)s
  AND activity_date >= CAST(%(start_date)s AS DATE)
  AND activity_date <= CAST(%(end_date)s AS DATE)
GROUP BY
  CAST(DATE_TRUNC('MONTH', activity_date) AS DATE)
ORDER BY
  bucket_date
