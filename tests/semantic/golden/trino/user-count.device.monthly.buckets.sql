SELECT
  CAST(DATE_TRUNC('MONTH', activity_date) AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT user_id) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = ?
  AND device_id = ?
  AND activity_date >= CAST(? AS DATE)
  AND activity_date <= CAST(? AS DATE)
GROUP BY
  CAST(DATE_TRUNC('MONTH', activity_date) AS DATE)
ORDER BY
  bucket_date
