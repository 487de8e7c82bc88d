SELECT
  activity_date AS bucket_date,
  CAST(SUM(total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = ?
  AND user_id = ?
  AND activity_date >= CAST(? AS DATE)
  AND activity_date <= CAST(? AS DATE)
GROUP BY
  activity_date
ORDER BY
  bucket_date
