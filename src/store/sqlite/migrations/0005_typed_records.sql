-- Version 5: typed records and fewer writes per operation. Users get one column per property (no JSON
-- document); log entries keep their filterable properties as columns and the rest in a compact body, with
-- the facts entries share stored once (log_context per job and cycle, log_dictionary for detail keys and
-- mapping sets). The bodies of the entries one batch wrote are compressed together (log_block): records of
-- a feed repeat each other, so a block is a fraction of its entries' bodies.
-- Staged operations move to their own file (staging.db); job_progress records, per job, the
-- last staged request the engine applied, in the same transaction as its writes.
-- Migration 5 (migrations.rs) fills these tables from the version-4 ones, then drops those.
CREATE TABLE user_record (
    id                       TEXT PRIMARY KEY NOT NULL,
    created                  INTEGER NOT NULL,  -- 100 ns ticks since the Unix epoch
    manager_id               TEXT,
    account_enabled          INTEGER NOT NULL,
    upn                      TEXT,
    employee_id              TEXT,
    display_name             TEXT,
    given_name               TEXT,
    surname                  TEXT,
    mail                     TEXT,
    mail_nickname            TEXT,
    job_title                TEXT,
    department               TEXT,
    company_name             TEXT,
    employee_type            TEXT,
    user_type                TEXT,
    city                     TEXT,
    country                  TEXT,
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
) STRICT, WITHOUT ROWID;
CREATE INDEX user_record_by_upn ON user_record (upn COLLATE NOCASE);
CREATE INDEX user_record_by_employee_id ON user_record (employee_id);

CREATE TABLE log_dictionary (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,  -- 1 detail keys, 2 mapping set
    text TEXT NOT NULL,
    UNIQUE (kind, text)
) STRICT;

CREATE TABLE log_context (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    context       TEXT NOT NULL,  -- JSON of the shared facts
    cycle_id      TEXT NOT NULL,
    job_id        TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    sp_id         TEXT NOT NULL,
    sp_name       TEXT NOT NULL,
    source_system TEXT NOT NULL,
    target_system TEXT NOT NULL,
    UNIQUE (context, cycle_id)
) STRICT;

CREATE TABLE log_entry (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    activity    INTEGER NOT NULL,  -- 100 ns ticks since the Unix epoch
    ctx         INTEGER NOT NULL,  -- log_context.id
    change_id   TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    source_name TEXT NOT NULL,
    source_type TEXT,               -- NULL = 'User'
    target_id   TEXT NOT NULL,
    target_name TEXT NOT NULL,
    target_type TEXT,               -- NULL = 'User'
    block       INTEGER NOT NULL,   -- log_block.id: where the body is
    slot        INTEGER NOT NULL    -- the body's index in its block
) STRICT;
CREATE INDEX log_entry_by_time ON log_entry (activity, id);
CREATE UNIQUE INDEX log_entry_by_id ON log_entry (id);
CREATE INDEX log_entry_by_source ON log_entry (source_id);

CREATE TABLE log_block (
    id   INTEGER PRIMARY KEY,
    live INTEGER NOT NULL,          -- entries still referring to it
    body BLOB NOT NULL              -- a version byte, then the zstd frame of its entries' bodies
) STRICT;
-- A block goes when its last entry does (retention deletes entries one by one).
CREATE TRIGGER log_entry_releases_block AFTER DELETE ON log_entry BEGIN
    UPDATE log_block SET live = live - 1 WHERE id = old.block;
    DELETE FROM log_block WHERE id = old.block AND live <= 0;
END;

CREATE TABLE job_progress (
    job_id  TEXT PRIMARY KEY NOT NULL,
    through INTEGER NOT NULL  -- staged_request.seq of the last request applied (or purged)
) STRICT;

CREATE INDEX pending_reference_by_job ON pending_reference (job_id, manager_external_id);
