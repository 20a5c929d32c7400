-- Core tables. Every unique key includes recorded_at, so the same tables can be TimescaleDB
-- hypertables partitioned on it (see 001_core.timescale.sql).

create table if not exists raw_data (
    id          bigint generated always as identity,
    sensor_id   text             not null,
    recorded_at timestamptz      not null,
    raw_value   double precision not null,
    received_at timestamptz      not null default now(),
    source      text,
    constraint raw_data_pkey primary key (id, recorded_at),
    -- A replayed reading (same sensor, same time) is not stored twice.
    constraint raw_data_sensor_recorded_key unique (sensor_id, recorded_at)
);

-- The reconcile timer looks for recently received readings with no calibrated value.
create index if not exists raw_data_received_at_idx on raw_data (received_at);

-- Versioned calibration parameters: a new version is a new row, never an edit.
create table if not exists calibration (
    sensor_id  text             not null,
    version    integer          not null check (version > 0),
    valid_from timestamptz      not null,
    gain       double precision not null check (gain <> 0 and gain = gain and gain not in ('Infinity', '-Infinity')),
    "offset"   double precision not null check ("offset" = "offset" and "offset" not in ('Infinity', '-Infinity')),
    created_at timestamptz      not null default now(),
    constraint calibration_pkey primary key (sensor_id, version)
);

-- One calibrated value per raw reading.
create table if not exists calibrated_temperature (
    raw_data_id         bigint           not null,
    recorded_at         timestamptz      not null,
    sensor_id           text             not null,
    value               double precision not null,
    calibration_version integer          not null,
    calibrated_at       timestamptz      not null default now(),
    constraint calibrated_temperature_pkey primary key (raw_data_id, recorded_at)
);

create index if not exists calibrated_temperature_sensor_recorded_idx
    on calibrated_temperature (sensor_id, recorded_at desc);
