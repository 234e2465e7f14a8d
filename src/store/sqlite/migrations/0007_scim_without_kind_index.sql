-- Version 7: the SCIM resources lose their index on `kind` alone. Every listing of a kind reads the table in
-- rowid order anyway (oldest first), which a scan gives without it, and every lookup by key has an index that
-- starts with `kind`; the index only cost each create and delete one more B-tree to change.
DROP INDEX scim_resource_by_kind;
