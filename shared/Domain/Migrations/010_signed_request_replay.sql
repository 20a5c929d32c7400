-- Signed HTTP requests already seen: a repeated (device, x-timestamp, x-signature) within the
-- signature window is a replay. Shared by every replica (the unique key decides), and kept only
-- as long as a timestamp can be accepted (rows older than DeviceSignatureMaxSkew are deleted).

create table if not exists signed_request_seen (
    device_id text not null,
    signed_at bigint not null,          -- x-timestamp, Unix seconds
    signature bytea not null,           -- the 32-byte HMAC
    primary key (device_id, signed_at, signature)
);

create index if not exists signed_request_seen_signed_at on signed_request_seen (signed_at);
