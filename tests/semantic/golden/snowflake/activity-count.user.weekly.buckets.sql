SELECT
  CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(f.activity_date), f.activity_date) AS DATE) AS bucket_date,
  CAST(SUM(f.total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = :1
  AND f.user_id = :2
  AND f.activity_date >= CAST(:3 AS DATE)
  AND f.activity_date <= CAST(:4 AS DATE)
GROUP BY
  CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(f.activity_date), f.activity_date) AS DATE)
ORDER BY
  bucket_date
