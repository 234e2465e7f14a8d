-- Version 6: the SCIM 2.0 service provider's resources (`/scim/v2`, `/admin/v1`), kept apart from the Entra
-- directory the provisioning engine writes. One row per resource; its attributes (all but `id` and `meta`) are
-- one JSON object, with the columns lookups need beside it. Group memberships are also rows of their own, so a
-- user's groups and the groups a deleted resource must leave are found by index.
CREATE TABLE scim_resource (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          INTEGER NOT NULL,  -- 1 User, 2 Group
    unique_key    TEXT,              -- the lower-cased userName of a User: unique per kind
    external_id   TEXT,
    display_name  TEXT,
    version       INTEGER NOT NULL,  -- meta.version (W/"n")
    created       INTEGER NOT NULL,  -- 100 ns ticks since the Unix epoch
    last_modified INTEGER NOT NULL,
    attributes    TEXT NOT NULL      -- JSON object
) STRICT;
CREATE UNIQUE INDEX scim_resource_by_key ON scim_resource (kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX scim_resource_by_kind ON scim_resource (kind);
CREATE INDEX scim_resource_by_external_id ON scim_resource (kind, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE scim_member (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX scim_member_by_member ON scim_member (member_id);
