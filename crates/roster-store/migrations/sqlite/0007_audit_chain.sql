-- Each user's audit records form a chain, newest first: users.audit_head names the
-- newest, audit_log.prev_id the one before. A user's history is then read by following
-- the chain, and writing a record touches no page keyed by the user id other than the
-- user's own row (which the change writes anyway). audit_heads keeps the chains of
-- deleted users. Records of other resources keep an index (now partial).
ALTER TABLE users ADD COLUMN audit_head INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_id INTEGER;
CREATE TABLE audit_heads (
    resource_id INTEGER PRIMARY KEY,
    head INTEGER NOT NULL
);
UPDATE audit_log SET prev_id = (
    SELECT max(p.id) FROM audit_log p
    WHERE p.resource_type = 0 AND p.resource_id = audit_log.resource_id AND p.id < audit_log.id
) WHERE resource_type = 0;
UPDATE users SET audit_head = (SELECT max(a.id) FROM audit_log a WHERE a.resource_type = 0 AND a.resource_id = users.id);
INSERT INTO audit_heads (resource_id, head)
    SELECT resource_id, max(id) FROM audit_log
    WHERE resource_type = 0 AND resource_id IS NOT NULL AND resource_id NOT IN (SELECT id FROM users)
    GROUP BY resource_id;
DROP INDEX audit_log_resource;
CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id) WHERE resource_type != 0;
