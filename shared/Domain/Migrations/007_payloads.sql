-- The payload ledger, the ingest-error ledger, raw values in their units, and the rollout views.
--
-- payload: every payload that reached a door, once. An accepted payload's row is written by
-- PersistRawReadings in the same statement as its readings (every reading message carries the
-- payload id; the first one the payload's metadata and content), so a reading is never stored
-- without it and a redelivery writes nothing twice. A row written from a later message before the
-- first one's batch committed has only id, received_at and accepted until then: door, size_bytes,
-- format... are null, and the first message completes them. An accepted payload that yielded no readings (a frame of
-- "no reading" channels) is written by its door before the answer. A refused payload is written
-- best-effort by its door (accepted = false) with an ingest_error row. content is the payload as
-- received, at most 4 KiB (PayloadContent.MaxStoredBytes); size_bytes and sha256 are of the whole.
-- The key includes received_at so that TimescaleDB can partition on it (007_payloads.timescale.sql).
create table if not exists payload (
    id              uuid        not null,
    received_at     timestamptz not null,
    door            text,                          -- http, http-signed, mqtt, replay (null: not completed yet)
    device_id       text,                          -- the device that sent it or whose payload it is
    source          text,                          -- 'key', or the remote address / client
    format          text,                          -- native, legacy, frame (null: refused before decoding)
    decoder_version integer,
    size_bytes      integer,
    sha256          text,
    content         bytea,
    reading_count   integer     not null default 0,
    accepted        boolean     not null,
    constraint payload_pkey primary key (id, received_at)
);

create index if not exists payload_id_idx on payload (id);
create index if not exists payload_device_received_idx on payload (device_id, received_at desc);

-- Readings link to their payload (null for rows stored before the ledger) and keep the unit their
-- value was sent in: degC (native), cdegF (hundredths of a degree Fahrenheit, legacy), cdegC
-- (hundredths of a degree Celsius, frames). The value is never rewritten.
alter table raw_data add column if not exists payload_id uuid;
alter table raw_data add column if not exists unit text not null default 'degC';

-- Refused payloads with their reasons: the same per-field errors the door answered with.
create table if not exists ingest_error (
    id                bigint      generated always as identity primary key,
    payload_id        uuid        not null,
    received_at       timestamptz not null,
    door              text        not null,
    device_id         text,
    source            text,
    reason            text        not null,          -- invalid, unauthorized, forbidden, too_large, foreign_topic
    status            integer     not null,          -- the HTTP status (MQTT: the HTTP status of the same refusal)
    errors            jsonb       not null,          -- [{"index","field","message"}]
    excerpt           text,                          -- the first 200 characters of the content
    replayed_at       timestamptz,
    replay_outcome    text,                          -- accepted (n readings) / refused: ... / capped
    replay_payload_id uuid
);

create index if not exists ingest_error_received_idx on ingest_error (received_at desc);
create index if not exists ingest_error_device_received_idx on ingest_error (device_id, received_at desc);
create index if not exists ingest_error_reason_received_idx on ingest_error (reason, received_at desc);

-- Refusals over a source's rate (IngestErrorRatePerMinute): counted per day and reason, not stored.
create table if not exists ingest_error_suppressed (
    day    date   not null,
    reason text   not null,
    count  bigint not null,
    constraint ingest_error_suppressed_pkey primary key (day, reason)
);

-- The one conversion to degrees Celsius (ReadingUnits in C# is the same table).
create or replace function reading_celsius(value double precision, unit text)
    returns double precision
    language sql immutable parallel safe
as $$
    select case coalesce(unit, 'degC')
               when 'degC'  then value
               when 'cdegF' then (value / 100.0 - 32.0) * 5.0 / 9.0
               when 'cdegC' then value / 100.0
           end
$$;

-- Every raw reading in degrees Celsius, uncalibrated, for people who query the database directly.
-- (Rollups stay on calibrated_temperature, which is in Celsius: TimescaleDB cannot build a
-- continuous aggregate on a view.)
create or replace view raw_data_celsius as
select r.id, r.sensor_id, r.recorded_at, r.raw_value, r.unit,
       reading_celsius(r.raw_value, r.unit) as celsius,
       r.received_at, r.source, r.payload_id
  from raw_data r;

-- Rollout: per format and UTC day, the devices that sent it, payloads and readings.
create or replace view format_daily as
select format,
       date_trunc('day', received_at, 'UTC') as day,
       count(distinct device_id)             as devices,
       count(*)                              as payloads,
       sum(reading_count)                    as readings
  from payload
 where accepted and format is not null
 group by format, date_trunc('day', received_at, 'UTC');

-- Rollout: per device and format, when it was first and last seen.
create or replace view device_format_history as
select device_id, format, min(received_at) as first_seen, max(received_at) as last_seen, count(*) as payloads
  from payload
 where accepted and device_id is not null and format is not null
 group by device_id, format;

-- Rollout: devices seen in more than one format. current_format is the format of the latest
-- payload; went_back: the current format was first seen before another format was (the device
-- returned to an older format); otherwise it has moved on (upgraded).
create or replace view device_multi_format as
with ranked as (
    select h.*, row_number() over (partition by device_id order by last_seen desc) as recency
      from device_format_history h
)
select c.device_id,
       (select array_agg(h.format order by h.first_seen) from device_format_history h where h.device_id = c.device_id) as formats,
       c.format                                                                                               as current_format,
       c.first_seen                                                                                           as current_since,
       exists (select 1 from device_format_history h
                where h.device_id = c.device_id and h.format <> c.format and h.first_seen > c.first_seen)    as went_back
  from ranked c
 where c.recency = 1
   and (select count(*) from device_format_history h where h.device_id = c.device_id) > 1;

-- Rollout: devices whose refusals rose after their latest format change: refusals in the 7 days
-- since the current format was first seen against the 7 days before.
create or replace view device_refusals_after_format_change as
select m.device_id, m.current_format, m.current_since as changed_at,
       (select count(*) from ingest_error e
         where e.device_id = m.device_id
           and e.received_at >= m.current_since - interval '7 days' and e.received_at < m.current_since) as refusals_before,
       (select count(*) from ingest_error e
         where e.device_id = m.device_id
           and e.received_at >= m.current_since and e.received_at < m.current_since + interval '7 days') as refusals_after
  from device_multi_format m;
