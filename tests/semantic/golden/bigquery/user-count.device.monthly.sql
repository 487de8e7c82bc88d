WITH calendar_days AS (
  SELECT
    calendar_day
  FROM UNNEST(GENERATE_DATE_ARRAY(CAST(@start_date AS DATE), CAST(@end_date AS DATE), INTERVAL 1 DAY)) AS calendar_day
), bucket_spine AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC(calendar_day, MONTH) AS DATE) AS bucket_date
  FROM calendar_days
), measure_3 AS (
  SELECT
    CAST(DATE_TRUNC(f.activity_date, MONTH) AS DATE) AS bucket_date,
    COUNT(DISTINCT f.user_id) AS metric_value
  FROM fct_activity_daily AS f
  WHERE
    f.client_id = @tenant_id
    AND f.device_id = @entity_id
    AND f.activity_date >= CAST(@start_date AS DATE)
    AND f.activity_date <= CAST(@end_date AS DATE)
  GROUP BY
    CAST(DATE_TRUNC(f.activity_date, MONTH) AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(measure_3.metric_value, 0) AS INT64) AS user_count
FROM bucket_spine
LEFT JOIN measure_3
  ON measure_3.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
