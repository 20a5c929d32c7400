-- TimescaleDB: raw_data and calibrated_temperature become hypertables on recorded_at.
-- Runs only when the timescaledb extension is installed, right after 001_core.sql, in the same
-- transaction. create_hypertable with if_not_exists makes a re-run harmless; migrate_data moves
-- rows of a database that was plain before. {{chunk_interval}} is the TimescaleChunkInterval
-- setting (TimescaleSettings.ChunkInterval), filled in by the Migrator.

select create_hypertable('raw_data', by_range('recorded_at', {{chunk_interval}}),
                         if_not_exists => true, migrate_data => true);

select create_hypertable('calibrated_temperature', by_range('recorded_at', {{chunk_interval}}),
                         if_not_exists => true, migrate_data => true);
