SELECT
  activity_date AS bucket_date,
  CAST(SUM(total_activity_count) AS BIGINT) AS metric_value
FROM fct_activity_daily
WHERE
  client_id = :tenant_id
  AND user_id = :entity_id
  AND activity_date >= CAST(:start_date AS DATE)
  AND activity_date <= CAST(:end_date AS DATE)
GROUP BY
  activity_date
ORDER BY
  bucket_date
