-- Log entries written by the engine are stored compactly (`body`, the engine's encoding) and rendered when
-- read; `doc` holds entries given as documents (fixtures, imports). Exactly one of the two is set.
-- The mapping sets (target, expression) those entries refer to are stored once each.
CREATE TABLE log_mapping_set (
    id  INTEGER PRIMARY KEY,
    doc TEXT NOT NULL UNIQUE
) STRICT;

ALTER TABLE provisioning_log RENAME TO provisioning_log_v2;
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
    doc                        TEXT,
    body                       BLOB,
    mapping_set                INTEGER REFERENCES log_mapping_set (id),
    CHECK ((doc IS NULL) <> (body IS NULL))
) STRICT;
INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status, source_id,
    source_display_name, source_identity_type, target_id, target_display_name, target_identity_type, sp_id,
    sp_display_name, source_system_display_name, target_system_display_name, tenant_id, doc)
SELECT id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status, source_id, source_display_name,
    source_identity_type, target_id, target_display_name, target_identity_type, sp_id, sp_display_name,
    source_system_display_name, target_system_display_name, tenant_id, doc
FROM provisioning_log_v2;
DROP TABLE provisioning_log_v2;
CREATE INDEX provisioning_log_by_time ON provisioning_log (activity_time DESC, id DESC);
CREATE INDEX provisioning_log_by_job ON provisioning_log (job_id, activity_time DESC, id DESC);
CREATE INDEX provisioning_log_by_cycle ON provisioning_log (cycle_id);
CREATE INDEX provisioning_log_by_source ON provisioning_log (job_id, source_id);
