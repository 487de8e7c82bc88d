SELECT
  CAST(TRUNC(activity_date, 'WEEK') AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = :tenant_id
  AND device_id = :entity_id
  AND activity_date >= CAST(:start_date AS DATE)
  AND activity_date <= CAST(:end_date AS DATE)
GROUP BY
  CAST(TRUNC(activity_date, 'WEEK') AS DATE)
ORDER BY
  bucket_date
