WITH bucket_spine AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC('MONTH', calendar_day) AS DATE) AS bucket_date
  FROM (
    SELECT
      CAST(value AS DATE)
    FROM GENERATE_SERIES(CAST(%(start_date)s AS DATE), CAST(%(end_date)s AS DATE), INTERVAL '1 DAY') AS _t(value)
  ) AS calendar(calendar_day)
), metric_by_bucket AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', activity_date) AS DATE) AS bucket_date,
    COUNT(DISTINCT user_id) AS metric_value
  FROM fct_activity_daily
  WHERE
    client_id = %(tenant_id)s
    AND device_id = %(entity_id)s
    AND activity_date >= CAST(%(start_date)s AS DATE)
    AND activity_date <= CAST(%(end_date)s AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', activity_date) AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(metric_by_bucket.metric_value, 0) AS BIGINT) AS user_count
FROM bucket_spine
LEFT JOIN metric_by_bucket
  ON metric_by_bucket.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
