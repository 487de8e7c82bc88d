SELECT
  f.activity_date AS bucket_date,
  CAST(SUM(f.total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = ?
  AND f.user_id = ?
  AND f.activity_date >= CAST(? AS DATE)
  AND f.activity_date <= CAST(? AS DATE)
GROUP BY
  f.activity_date
ORDER BY
  bucket_date
