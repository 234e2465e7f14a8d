-- Version 3: what the control API sets that every process on the database shares.
-- One JSON document per key (`clock`: the virtual clock's offset; `faults`: the fault rules with what is left of
-- each one's `times`), changed by read-modify-write transactions that lock the row.
CREATE TABLE control_state (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
-- The request journal of every process, oldest first; trimmed to the configured capacity as it grows. Unlogged:
-- a request's entry is not worth a WAL flush on the request's path (a transaction that writes only unlogged
-- tables commits without waiting for one); a crash of the database server empties it, a clean restart keeps it.
CREATE UNLOGGED TABLE journal_entry (
    seq    BIGSERIAL PRIMARY KEY,
    time   BIGINT NOT NULL,   -- when the request arrived, in nanoseconds since the Unix epoch (virtual time)
    route  TEXT NOT NULL,
    status INTEGER NOT NULL,
    doc    TEXT NOT NULL
);
