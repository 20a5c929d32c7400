-- Hourly and daily rollups of calibrated values per sensor (count, min, max, avg), in UTC buckets.
--
-- Plain PostgreSQL: ordinary views over calibrated_temperature, computed at query time, so they
-- are always exact. On TimescaleDB, 003_rollups.timescale.sql replaces them with continuous
-- aggregates of the same names and columns (time_bucket buckets, which start at UTC midnight and
-- on the UTC hour, exactly as date_trunc(..., 'UTC') does here), so both modes answer the same.
--
-- Created only if absent: if this file runs again after the TimescaleDB part was interrupted, a
-- continuous aggregate already called calibrated_hourly must not be replaced by a plain view.

do $$
begin
    if to_regclass('calibrated_hourly') is null then
        create view calibrated_hourly as
        select sensor_id,
               date_trunc('hour', recorded_at, 'UTC') as bucket,
               count(*)                               as readings,
               min(value)                             as min_value,
               max(value)                             as max_value,
               avg(value)                             as avg_value
          from calibrated_temperature
         group by sensor_id, date_trunc('hour', recorded_at, 'UTC');
    end if;

    if to_regclass('calibrated_daily') is null then
        create view calibrated_daily as
        select sensor_id,
               date_trunc('day', recorded_at, 'UTC') as bucket,
               count(*)                              as readings,
               min(value)                            as min_value,
               max(value)                            as max_value,
               avg(value)                            as avg_value
          from calibrated_temperature
         group by sensor_id, date_trunc('day', recorded_at, 'UTC');
    end if;
end
$$;
