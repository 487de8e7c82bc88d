SELECT
  CAST(DATE_TRUNC('QUARTER', f.activity_date) AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT f.device_id) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = :1
  AND f.user_id = :2
  AND f.activity_date >= CAST(:3 AS DATE)
  AND f.activity_date <= CAST(:4 AS DATE)
GROUP BY
  CAST(DATE_TRUNC('QUARTER', f.activity_date) AS DATE)
ORDER BY
  bucket_date
