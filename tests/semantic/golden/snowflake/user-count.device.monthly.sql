WITH calendar_days AS (
  SELECT
    calendar_day
  FROM (
    SELECT
      DATEADD(DAY, CAST(calendar_day AS INT), CAST(:3 AS DATE)) AS calendar_day
    FROM TABLE(FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, (
      DATEDIFF(DAY, CAST(:3 AS DATE), CAST(:4 AS DATE)) + 1 - 1
    ) + 1))) AS calendar(seq, key, path, index, calendar_day, this)
  ) AS calendar(calendar_day)
), bucket_spine AS (
  SELECT DISTINCT
    CAST(DATE_TRUNC('MONTH', calendar_day) AS DATE) AS bucket_date
  FROM calendar_days
), measure_3 AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', f.activity_date) AS DATE) AS bucket_date,
    COUNT(DISTINCT f.user_id) AS metric_value
  FROM fct_activity_daily AS f
  WHERE
    f.client_id = :1
    AND f.device_id = :2
    AND f.activity_date >= CAST(:3 AS DATE)
    AND f.activity_date <= CAST(:4 AS DATE)
  GROUP BY
    CAST(DATE_TRUNC('MONTH', f.activity_date) AS DATE)
)
SELECT
  bucket_spine.bucket_date,
  CAST(COALESCE(measure_3.metric_value, 0) AS BIGINT) AS user_count
FROM bucket_spine
LEFT JOIN measure_3
  ON measure_3.bucket_date = bucket_spine.bucket_date
ORDER BY
  bucket_spine.bucket_date
