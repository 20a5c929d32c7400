-- Recalibration jobs: what was asked, how far the producer got (a keyset cursor over
-- raw_data's unique key (sensor_id, recorded_at)), and counts. A job is resumable: a producer
-- holds it by a lease (owner + heartbeat) and any producer takes over a job whose lease expired.

create table if not exists recalibration_job (
    id                  bigint generated always as identity primary key,
    sensor_id           text,                   -- null: every sensor
    from_time           timestamptz not null,
    to_time             timestamptz not null,
    reason              text        not null,
    calibration_version integer,                -- the version that started it, if any
    state               text        not null default 'running'
                        check (state in ('running', 'draining', 'completed', 'cancelled')),
    total               bigint      not null,   -- readings in range when the job was created
    published           bigint      not null default 0,
    cursor_sensor_id    text,
    cursor_recorded_at  timestamptz,
    owner               text,
    heartbeat_at        timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    finished_at         timestamptz,
    check (from_time < to_time)
);

create index if not exists recalibration_job_active_idx on recalibration_job (id) where state in ('running', 'draining');

-- No index on calibrated_temperature.calibrated_at: progress is counted from raw_data through
-- calibrated_temperature's primary key, and leaving the updated columns unindexed lets a
-- recalibration's upsert be a HOT update (no index rewritten).
