SELECT
  CAST(TRUNC(f.activity_date, 'WEEK') AS DATE) AS bucket_date,
  CAST(SUM(f.total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = :tenant_id
  AND f.user_id = :entity_id
  AND f.activity_date >= CAST(:start_date AS DATE)
  AND f.activity_date <= CAST(:end_date AS DATE)
GROUP BY
  CAST(TRUNC(f.activity_date, 'WEEK') AS DATE)
ORDER BY
  bucket_date
