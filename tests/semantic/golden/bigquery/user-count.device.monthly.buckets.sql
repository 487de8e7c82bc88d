SELECT
  CAST(DATE_TRUNC(f.activity_date, MONTH) AS DATE) AS bucket_date,
  CAST(COUNT(DISTINCT f.user_id) AS INT64) AS metric_value
FROM fct_activity_daily AS f
WHERE
  f.client_id = @tenant_id
  AND f.device_id = @entity_id
  AND f.activity_date >= CAST(@start_date AS DATE)
  AND f.activity_date <= CAST(@end_date AS DATE)
GROUP BY
  bucket_date
ORDER BY
  bucket_date
