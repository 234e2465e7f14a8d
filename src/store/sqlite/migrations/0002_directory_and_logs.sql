-- The emulated Entra directory: Graph user objects. `doc` is the whole Graph user (JSON); the columns are
-- the indexed and filterable copies of its properties.
CREATE TABLE directory_user (
    id                  TEXT PRIMARY KEY,
    user_principal_name TEXT NOT NULL,
    employee_id         TEXT,
    display_name        TEXT,
    given_name          TEXT,
    surname             TEXT,
    mail                TEXT,
    mail_nickname       TEXT,
    job_title           TEXT,
    department          TEXT,
    company_name        TEXT,
    employee_type       TEXT,
    account_enabled     INTEGER NOT NULL,
    city                TEXT,
    country             TEXT,
    created_time        TEXT NOT NULL,
    manager_id          TEXT,
    doc                 TEXT NOT NULL
) STRICT;
-- UPNs are unique regardless of case, as in Entra.
CREATE UNIQUE INDEX directory_user_upn ON directory_user (user_principal_name COLLATE NOCASE);
CREATE INDEX directory_user_employee_id ON directory_user (employee_id);
CREATE INDEX directory_user_manager ON directory_user (manager_id);

-- Manager references that could not be resolved yet (the manager's externalId is not in the directory).
CREATE TABLE pending_reference (
    user_id             TEXT PRIMARY KEY,
    job_id              TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    manager_external_id TEXT NOT NULL
) STRICT;
CREATE INDEX pending_reference_by_manager ON pending_reference (manager_external_id);

-- One provisioningObjectSummary per processed operation. `doc` is the v1.0 resource; the columns back $filter,
-- $orderby and keyset paging.
CREATE TABLE provisioning_log (
    id                         TEXT PRIMARY KEY,
    activity_time              TEXT NOT NULL,
    job_id                     TEXT NOT NULL,
    cycle_id                   TEXT NOT NULL,
    change_id                  TEXT NOT NULL,
    duration_ms                INTEGER NOT NULL,
    action                     TEXT NOT NULL,
    status                     TEXT NOT NULL,
    source_id                  TEXT,
    source_display_name        TEXT,
    source_identity_type       TEXT,
    target_id                  TEXT,
    target_display_name        TEXT,
    target_identity_type       TEXT,
    sp_id                      TEXT,
    sp_display_name            TEXT,
    source_system_display_name TEXT,
    target_system_display_name TEXT,
    tenant_id                  TEXT,
    doc                        TEXT NOT NULL
) STRICT;
CREATE INDEX provisioning_log_by_time ON provisioning_log (activity_time DESC, id DESC);
CREATE INDEX provisioning_log_by_job ON provisioning_log (job_id, activity_time DESC, id DESC);
CREATE INDEX provisioning_log_by_cycle ON provisioning_log (cycle_id);
CREATE INDEX provisioning_log_by_source ON provisioning_log (job_id, source_id);

-- A job's synchronizationSchema when it was replaced through the schema API (absent = the template default).
CREATE TABLE job_schema (
    job_id TEXT PRIMARY KEY,
    doc    TEXT NOT NULL
) STRICT;
