-- TimescaleDB policies from settings. Not a numbered migration: the Migrator runs this after the
-- migrations on every run in TimescaleDB mode (in one transaction), so a changed setting takes
-- effect on the next start. A policy is removed and added again only when its value differs.
--
-- The double-brace placeholders are replaced by the Migrator with literals it formats itself from
-- validated TimeSpans (TimescaleSettings): an interval literal, or null for "off".

-- A relation a migration of this list has not created (a Migrator given fewer migrations, as the
-- upgrade tests do) is skipped: its policies are set by the run that creates it.

do $$
declare
    compress_after   interval := {{compress_after}};
    raw_retention    interval := {{raw_retention}};
    rollup_retention interval := {{rollup_retention}};
    payload_retention interval := {{payload_retention}};
    rel text;
begin
    -- Chunk interval: applies to chunks created from now on; existing chunks keep theirs.
    foreach rel in array array['raw_data', 'calibrated_temperature', 'payload'] loop
        if to_regclass(rel) is not null then
            perform set_chunk_time_interval(rel::regclass, {{chunk_interval}});
        end if;
    end loop;

    -- Columnstore (compression) policy on the hypertables; null = no policy.
    foreach rel in array array['raw_data', 'calibrated_temperature', 'payload'] loop
        if to_regclass(rel) is not null and not exists (select 1 from timescaledb_information.jobs
                        where proc_name = 'policy_compression'
                          and hypertable_schema = current_schema() and hypertable_name = rel
                          and (config ->> 'compress_after')::interval = compress_after) then
            call remove_columnstore_policy(rel::regclass, if_exists => true);
            if compress_after is not null then
                call add_columnstore_policy(rel::regclass, after => compress_after);
            end if;
        end if;
    end loop;

    -- Retention of raw readings: off by default, since raw is what recalibration needs. Only
    -- raw_data: calibrated values and rollups are kept.
    if not exists (select 1 from timescaledb_information.jobs
                    where proc_name = 'policy_retention'
                      and hypertable_schema = current_schema() and hypertable_name = 'raw_data'
                      and (config ->> 'drop_after')::interval = raw_retention) then
        perform remove_retention_policy('raw_data', if_exists => true);
        if raw_retention is not null then
            perform add_retention_policy('raw_data', drop_after => raw_retention);
        end if;
    end if;

    -- Retention of the payload ledger (PayloadRetention; default 30 days): whole chunks dropped.
    -- Readings keep their payload_id after their payload row is gone.
    if to_regclass('payload') is not null and not exists (select 1 from timescaledb_information.jobs
                    where proc_name = 'policy_retention'
                      and hypertable_schema = current_schema() and hypertable_name = 'payload'
                      and (config ->> 'drop_after')::interval = payload_retention) then
        perform remove_retention_policy('payload', if_exists => true);
        if payload_retention is not null then
            perform add_retention_policy('payload', drop_after => payload_retention);
        end if;
    end if;

    -- Retention of the materialized rollups: off by default. Longer than the refresh policies'
    -- 3-day window (TimescaleSettings checks), so a refresh never re-materializes dropped buckets.
    foreach rel in array array['calibrated_hourly', 'calibrated_daily'] loop
        if not exists (select 1 from timescaledb_information.jobs
                        where proc_name = 'policy_retention'
                          and hypertable_schema = current_schema() and hypertable_name = rel
                          and (config ->> 'drop_after')::interval = rollup_retention) then
            perform remove_retention_policy(rel::regclass, if_exists => true);
            if rollup_retention is not null then
                perform add_retention_policy(rel::regclass, drop_after => rollup_retention);
            end if;
        end if;
    end loop;
end
$$;
