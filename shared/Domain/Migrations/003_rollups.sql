-- Rollups of calibrated values per sensor (PLACEHOLDER from branch read-api, for the read API's
-- /api/sensors/{id}/rollups until the TimescaleDB work lands its own 003_rollups.sql: the owner of
-- that migration replaces this file; the read API relies only on the relation names and columns).
-- Plain PostgreSQL: ordinary views grouped by the UTC hour and day. With TimescaleDB,
-- 003_rollups.timescale.sql replaces them with continuous aggregates of the same name and columns:
-- (sensor_id text, bucket timestamptz, readings bigint, min_value float8, max_value float8, avg_value float8).

create or replace view calibrated_hourly as
select sensor_id,
       date_trunc('hour', recorded_at at time zone 'UTC') at time zone 'UTC' as bucket,
       count(*)   as readings,
       min(value) as min_value,
       max(value) as max_value,
       avg(value) as avg_value
  from calibrated_temperature
 group by sensor_id, 2;

create or replace view calibrated_daily as
select sensor_id,
       date_trunc('day', recorded_at at time zone 'UTC') at time zone 'UTC' as bucket,
       count(*)   as readings,
       min(value) as min_value,
       max(value) as max_value,
       avg(value) as avg_value
  from calibrated_temperature
 group by sensor_id, 2;
