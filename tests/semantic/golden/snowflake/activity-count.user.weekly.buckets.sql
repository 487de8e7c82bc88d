SELECT
  CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(activity_date), activity_date) AS DATE) AS bucket_date,
  CAST(SUM(total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = :1
  AND user_id = :2
  AND activity_date >= CAST(:3 AS DATE)
  AND activity_date <= CAST(:4 AS DATE)
GROUP BY
  CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(activity_date), activity_date) AS DATE)
ORDER BY
  bucket_date
