WITH bucket_spine AS (
  SELECT DISTINCT
    CAST(TRUNC(calendar_day, 'WEEK') AS DATE) AS bucket_date
  FROM EXPLODE(SEQUENCE(CAST(:start_date AS DATE), CAST(:end_date AS DATE), INTERVAL 1 DAY)) AS calendar(calendar_day)
), metric_by_bucket AS (
  SELECT
    CAST(TRUNC(activity_date, 'WEEK') AS DATE) AS bucket_date,
    SUM(total_activity_count) AS metric_value
  FROM fct_activity_daily
  WHERE
    client_id = :tenant_id
    AND user_id = :entity_id
    AND activity_date >= CAST(:start_date AS DATE)
    AND activity_date <= CAST(:end_date AS DATE)
  GROUP BY
    CAST(TRUNC(activity_date, 'WEEK') AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(metric_by_bucket.metric_value, 0) AS BIGINT) AS activity_count
FROM bucket_spine
LEFT JOIN metric_by_bucket
  ON metric_by_bucket.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
