-- TimescaleDB: the payload ledger is a hypertable on received_at, compressed like raw_data, and
-- dropped after PayloadRetention (policies.timescale.sql, from the setting, on every run). Runs
-- right after 007_payloads.sql in the same transaction when the timescaledb extension is
-- installed; create_hypertable with if_not_exists makes a re-run harmless, migrate_data moves
-- the rows of a database that was plain before. ingest_error and ingest_error_suppressed stay
-- plain tables (a few rows per source and minute at most): the PayloadLedgerRetention timer
-- deletes their old rows in both modes.

select create_hypertable('payload', by_range('received_at', {{chunk_interval}}),
                         if_not_exists => true, migrate_data => true);

-- One segment per device, newest first, the id after received_at so batches carry the whole key's
-- min/max (see 003_rollups.timescale.sql for why). Set only while the columnstore is not on yet.
do $$
begin
    if not exists (select 1 from timescaledb_information.hypertables
                    where hypertable_schema = current_schema() and hypertable_name = 'payload'
                      and compression_enabled) then
        alter table payload set (timescaledb.enable_columnstore = true,
                                 timescaledb.segmentby = 'device_id',
                                 timescaledb.orderby = 'received_at desc, id');
    end if;
end
$$;
