-- A job's run state and status (counters, quarantine), so a durable emulator keeps them across restarts.
CREATE TABLE job_state (
    job_id TEXT PRIMARY KEY,
    paused INTEGER NOT NULL,
    status TEXT NOT NULL
) STRICT;
