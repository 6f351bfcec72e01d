-- The audit log of changes to users, fields, groups and credentials.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clock INTEGER NOT NULL,
    actor_id INTEGER,
    actor_name TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    face TEXT NOT NULL,
    action INTEGER NOT NULL,
    resource_type INTEGER NOT NULL,
    resource_id INTEGER,
    resource_name TEXT NOT NULL DEFAULT '',
    recordset_id TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_clock ON audit_log(clock);
CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id);
