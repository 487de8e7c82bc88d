SELECT
  f.activity_date AS bucket_date,
  CAST(SUM(f.total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = :tenant_id
  AND f.user_id = :entity_id
  AND f.activity_date >= CAST(:start_date AS DATE)
  AND f.activity_date <= CAST(:end_date AS DATE)
GROUP BY
  f.activity_date
ORDER BY
  bucket_date
