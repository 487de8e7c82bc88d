SELECT
  CAST(DATE_TRUNC('QUARTER', f.activity_date) AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT f.device_id) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = ?
  AND f.user_id = ?
  AND f.activity_date >= CAST(? AS DATE)
  AND f.activity_date <= CAST(? AS DATE)
GROUP BY
  CAST(DATE_TRUNC('QUARTER', f.activity_date) AS DATE)
ORDER BY
  bucket_date
