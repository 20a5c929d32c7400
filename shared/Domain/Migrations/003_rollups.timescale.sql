-- migrate: no-transaction
--
-- TimescaleDB: rollups as continuous aggregates, and the columnstore (compression) on both
-- hypertables. Runs right after 003_rollups.sql when the timescaledb extension is installed.
--
-- Why no transaction: CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous) refuses to run
-- inside a transaction block (it materializes the existing rows WITH DATA, which an upgraded
-- database needs: a real-time aggregate shows only materialized rows below its watermark). The
-- Migrator therefore runs each top-level statement of this file on its own, and records 003 in
-- schema_migrations only after the last one succeeded. Every statement is idempotent, so a run
-- interrupted half-way is simply run again.
--
-- Settings (compress after, retention, chunk interval) are not here: policies.timescale.sql
-- reconciles them on every migrate run, so changing a setting takes effect on the next start.

-- 1. Drop the plain views from 003_rollups.sql (but never a continuous aggregate of that name).
do $$
declare
    rel text;
begin
    foreach rel in array array['calibrated_hourly', 'calibrated_daily'] loop
        if exists (select 1 from pg_views where schemaname = current_schema() and viewname = rel)
           and not exists (select 1 from timescaledb_information.continuous_aggregates
                            where view_schema = current_schema() and view_name = rel) then
            execute format('drop view %I', rel);
        end if;
    end loop;
end
$$;

-- 2. Continuous aggregates with real-time aggregation (materialized_only = false): rows not yet
-- materialized are aggregated at query time, so a query always sees every calibrated value.
create materialized view if not exists calibrated_hourly
    with (timescaledb.continuous, timescaledb.materialized_only = false) as
select sensor_id,
       time_bucket(interval '1 hour', recorded_at) as bucket,
       count(*)                                    as readings,
       min(value)                                  as min_value,
       max(value)                                  as max_value,
       avg(value)                                  as avg_value
  from calibrated_temperature
 group by sensor_id, time_bucket(interval '1 hour', recorded_at)
  with data;

create materialized view if not exists calibrated_daily
    with (timescaledb.continuous, timescaledb.materialized_only = false) as
select sensor_id,
       time_bucket(interval '1 day', recorded_at) as bucket,
       count(*)                                   as readings,
       min(value)                                 as min_value,
       max(value)                                 as max_value,
       avg(value)                                 as avg_value
  from calibrated_temperature
 group by sensor_id, time_bucket(interval '1 day', recorded_at)
  with data;

-- 3. Refresh policies: the last 3 days (up to 1 hour ago) are re-materialized regularly, which
-- covers late readings and the realtime calibrations. Older changes (a recalibration of history)
-- are refreshed by the recalibration itself (RollupRefresher.RefreshRollupsAsync).
select add_continuous_aggregate_policy('calibrated_hourly',
           start_offset      => interval '3 days',
           end_offset        => interval '1 hour',
           schedule_interval => interval '30 minutes',
           if_not_exists     => true);

select add_continuous_aggregate_policy('calibrated_daily',
           start_offset      => interval '3 days',
           end_offset        => interval '1 hour',
           schedule_interval => interval '1 hour',
           if_not_exists     => true);

-- 4. Columnstore (compression), TimescaleDB >= 2.18 names (timescaledb.compress and friends are
-- deprecated aliases): one segment per sensor, newest first inside it, which matches the read
-- pattern "one sensor, a time range". The id after recorded_at changes no order (recorded_at is
-- unique per sensor) but puts every primary-key column in segmentby/orderby, so batches carry its
-- min/max and an upsert's conflict check on (raw_data_id, recorded_at) decompresses only batches
-- that can hold the key (without it TimescaleDB warns "column ... should be used for segmenting
-- or ordering"). The settings cannot change once chunks are compressed, so they are set only when
-- the columnstore is not enabled yet.
do $$
declare
    rel text;
    id_column text;
begin
    foreach rel in array array['raw_data', 'calibrated_temperature'] loop
        id_column := case rel when 'raw_data' then 'id' else 'raw_data_id' end;
        if not exists (select 1 from timescaledb_information.hypertables
                        where hypertable_schema = current_schema() and hypertable_name = rel
                          and compression_enabled) then
            execute format('alter table %I set (timescaledb.enable_columnstore = true, '
                           'timescaledb.segmentby = %L, timescaledb.orderby = %L)',
                           rel, 'sensor_id', 'recorded_at desc, ' || id_column);
        end if;
    end loop;
end
$$;
