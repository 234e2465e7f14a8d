-- Version 2: the jobs' upload quotas, held for the job as a whole by every process on the database (GCRA: each
-- quota's theoretical arrival time, in nanoseconds since the Unix epoch; NULL before the first request).
CREATE TABLE job_quota (
    job_id TEXT NOT NULL,
    quota  INTEGER NOT NULL,  -- the quota's position in the job's configuration (the short window, the daily cap)
    tat    BIGINT,
    PRIMARY KEY (job_id, quota)
);
