-- Version 1 of the PostgreSQL schema: the same records as the embedded store, in one database that several
-- replicas share. Text columns the readers filter or sort on use the "C" collation (byte order, as SQLite's
-- BINARY), whatever the database's default; case-insensitive comparisons are `lower()` on both sides.
-- Times are 100 ns ticks since the Unix epoch (BIGINT), as in the embedded store.

-- Accepted bulkUpload requests not yet applied, in arrival order (`seq`, never reused).
CREATE TABLE staged_request (
    seq        BIGSERIAL PRIMARY KEY,
    job_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    received   BIGINT NOT NULL,
    operations BIGINT NOT NULL,
    body       BYTEA NOT NULL  -- zstd of postcard: [(bulkId, externalId, data JSON)], as the embedded store
);
CREATE INDEX staged_request_by_job ON staged_request (job_id, seq);

CREATE TABLE user_record (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    created                  BIGINT NOT NULL,
    manager_id               TEXT,
    account_enabled          BIGINT NOT NULL,
    upn                      TEXT COLLATE "C",
    employee_id              TEXT COLLATE "C",
    display_name             TEXT COLLATE "C",
    given_name               TEXT COLLATE "C",
    surname                  TEXT COLLATE "C",
    mail                     TEXT COLLATE "C",
    mail_nickname            TEXT COLLATE "C",
    job_title                TEXT COLLATE "C",
    department               TEXT COLLATE "C",
    company_name             TEXT COLLATE "C",
    employee_type            TEXT COLLATE "C",
    user_type                TEXT COLLATE "C",
    city                     TEXT COLLATE "C",
    country                  TEXT COLLATE "C",
    state                    TEXT,
    street_address           TEXT,
    postal_code              TEXT,
    office_location          TEXT,
    mobile_phone             TEXT,
    fax_number               TEXT,
    preferred_language       TEXT,
    usage_location           TEXT,
    employee_hire_date       TEXT,
    employee_leave_date_time TEXT,
    division                 TEXT,
    cost_center              TEXT,
    business_phones          TEXT,  -- JSON array, NULL when empty
    other_mails              TEXT,  -- JSON array, NULL when empty
    extensions               TEXT   -- JSON [[target, value]] of targets the directory does not know
);
CREATE INDEX user_record_by_upn ON user_record (lower(upn));
CREATE INDEX user_record_by_employee_id ON user_record (employee_id);

CREATE TABLE pending_reference (
    user_id             TEXT PRIMARY KEY,
    job_id              TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    manager_external_id TEXT NOT NULL
);
CREATE INDEX pending_reference_by_job ON pending_reference (job_id, manager_external_id);

-- One provisioningObjectSummary per processed operation: the filterable properties as columns, the entry as
-- its v1.0 document (`doc`, read back as an import reads one).
CREATE TABLE log_entry (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    activity      BIGINT NOT NULL,
    job_id        TEXT COLLATE "C" NOT NULL,
    cycle_id      TEXT COLLATE "C" NOT NULL,
    change_id     TEXT COLLATE "C" NOT NULL,
    duration_ms   BIGINT NOT NULL,
    action        TEXT COLLATE "C" NOT NULL,
    status        TEXT COLLATE "C" NOT NULL,
    source_id     TEXT COLLATE "C" NOT NULL,
    source_name   TEXT COLLATE "C" NOT NULL,
    source_type   TEXT COLLATE "C" NOT NULL,
    target_id     TEXT COLLATE "C" NOT NULL,
    target_name   TEXT COLLATE "C" NOT NULL,
    target_type   TEXT COLLATE "C" NOT NULL,
    sp_id         TEXT COLLATE "C" NOT NULL,
    sp_name       TEXT COLLATE "C" NOT NULL,
    source_system TEXT COLLATE "C" NOT NULL,
    target_system TEXT COLLATE "C" NOT NULL,
    tenant_id     TEXT COLLATE "C" NOT NULL,
    doc           TEXT NOT NULL
);
CREATE INDEX log_entry_by_time ON log_entry (activity, id);
CREATE INDEX log_entry_by_job ON log_entry (job_id, activity, id);
CREATE INDEX log_entry_by_source ON log_entry (source_id);

CREATE TABLE job_state (
    job_id TEXT PRIMARY KEY,
    paused BOOLEAN NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE job_schema (
    job_id TEXT PRIMARY KEY,
    doc    TEXT NOT NULL
);
CREATE TABLE job_progress (
    job_id  TEXT PRIMARY KEY,
    through BIGINT NOT NULL  -- staged_request.seq of the last request applied (or purged)
);

-- The SCIM service provider's resources (`pos` keeps insertion order: listings are oldest first).
CREATE TABLE scim_resource (
    pos           BIGSERIAL NOT NULL,
    id            TEXT PRIMARY KEY,
    kind          BIGINT NOT NULL,
    unique_key    TEXT,
    external_id   TEXT,
    display_name  TEXT,
    version       BIGINT NOT NULL,
    created       BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    attributes    TEXT NOT NULL
);
CREATE UNIQUE INDEX scim_resource_by_key ON scim_resource (kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX scim_resource_by_kind ON scim_resource (kind, pos);
CREATE INDEX scim_resource_by_external_id ON scim_resource (kind, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE scim_member (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX scim_member_by_member ON scim_member (member_id);
