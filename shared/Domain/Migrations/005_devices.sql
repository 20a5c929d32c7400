-- The device registry (issue 14): devices and the sensors they report. Small tables, the same
-- under plain PostgreSQL and TimescaleDB (no hypertables). No secret is stored: a device's HMAC
-- secret is derived from the group key and (device_id, credential_generation), and only the
-- certificate's serial, SHA-256 thumbprint and expiry are kept, to refuse a revoked one.

create table if not exists device (
    device_id              text        primary key,      -- = hardware id = certificate CN = MQTT client id
    hardware_id            text        not null unique,
    display_name           text,
    firmware               text,
    created_at             timestamptz not null default now(),
    last_seen_at           timestamptz,
    credential_state       text        not null default 'none'
                           check (credential_state in ('none', 'active', 'revoked')),
    credential_generation  integer     not null default 0,
    certificate_serial     text,
    certificate_thumbprint text,
    certificate_not_after  timestamptz,
    revoked_at             timestamptz
);

-- Each sensor belongs to at most one device; the mapping never changes once made.
create table if not exists device_sensor (
    sensor_id      text        primary key,
    device_id      text        not null references device (device_id),
    first_seen_at  timestamptz not null default now(),
    last_seen_at   timestamptz not null default now()
);

create index if not exists device_sensor_device_idx on device_sensor (device_id);
