WITH bucket_spine AS (
  SELECT DISTINCT
    CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(calendar_day), calendar_day) AS DATE) AS bucket_date
  FROM (
    SELECT
      DATEADD(DAY, CAST(calendar_day AS INT), CAST(:3 AS DATE)) AS calendar_day
    FROM TABLE(FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, (
      DATEDIFF(DAY, CAST(:3 AS DATE), CAST(:4 AS DATE)) + 1 - 1
    ) + 1))) AS calendar(seq, key, path, index, calendar_day, this)
  ) AS calendar(calendar_day)
), metric_by_bucket AS (
  SELECT
    CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(activity_date), activity_date) AS DATE) AS bucket_date,
    COUNT(DISTINCT user_id) AS metric_value
  FROM fct_activity_daily
  WHERE
    client_id = :1
    AND device_id = :2
    AND activity_date >= CAST(:3 AS DATE)
    AND activity_date <= CAST(:4 AS DATE)
  GROUP BY
    CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(activity_date), activity_date) AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(metric_by_bucket.metric_value, 0) AS BIGINT) AS user_count
FROM bucket_spine
LEFT JOIN metric_by_bucket
  ON metric_by_bucket.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
