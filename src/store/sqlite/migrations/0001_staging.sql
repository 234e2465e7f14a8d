-- Operations accepted by bulkUpload (202) and not yet processed, in arrival order per job.
CREATE TABLE staged_operation (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    op_index      INTEGER NOT NULL,
    bulk_id       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    data          TEXT NOT NULL,
    received_time TEXT NOT NULL
) STRICT;
CREATE INDEX staged_operation_by_job ON staged_operation (job_id, seq);
