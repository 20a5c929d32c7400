-- A recalibration job may carry the caller's request id (a Kubernetes Job passes its
-- name and uid): a retried request with the same id finds the job instead of starting another.
alter table recalibration_job add column if not exists request_id text;
create unique index if not exists recalibration_job_request_id_idx on recalibration_job (request_id) where request_id is not null;

-- The calibration file (setting CalibrationFile) as last seen by the replica that checked it:
-- which sensors it manages (the PUT API says so for them), the hash last applied, and why the
-- last version seen was refused, if it was. One row: any replica's /api/status reads it.
create table if not exists calibration_file_state (
    id              integer     primary key default 1 check (id = 1),
    path            text        not null,
    seen_hash       text        not null,
    applied_hash    text,
    sensors         text[]      not null default '{}',
    error           text,
    error_line      integer,
    checked_at      timestamptz not null default now(),
    applied_at      timestamptz,
    versions_added  integer     not null default 0
);
