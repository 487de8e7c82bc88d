WITH calendar_days AS (
  SELECT
    calendar_day
  FROM UNNEST(SEQUENCE(CAST(? AS DATE), CAST(? AS DATE), INTERVAL '1' DAY)) AS calendar(calendar_day)
), bucket_spine AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC('WEEK', calendar_day) AS DATE) AS bucket_date
  FROM calendar_days
), measure_3 AS (
  SELECT
    CAST(DATE_TRUNC('WEEK', f.activity_date) AS DATE) AS bucket_date,
    COUNT(DISTINCT f.user_id) AS metric_value
  FROM fct_activity_daily AS f
  WHERE
    f.client_id = ?
    AND f.device_id = ?
    AND f.activity_date >= CAST(? AS DATE)
    AND f.activity_date <= CAST(? AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('WEEK', f.activity_date) AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(measure_3.metric_value, 0) AS BIGINT) AS user_count
FROM bucket_spine
LEFT JOIN measure_3
  ON measure_3.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
