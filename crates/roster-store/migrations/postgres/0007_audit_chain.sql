-- Roster schema v7 (PostgreSQL), as SQLite's 0007: the chain of each user's audit
-- records (users.audit_head, audit_log.prev_id, audit_heads for deleted users), kept the
-- same on both backends so `roster migrate` copies it. PostgreSQL keeps its full
-- (resource_type, resource_id) index and reads histories through it.
ALTER TABLE users ADD COLUMN audit_head BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_id BIGINT;
CREATE TABLE audit_heads (
    resource_id BIGINT PRIMARY KEY,
    head BIGINT NOT NULL
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
