-- Roster schema v2 (SQLite): what the Zabbix face needs. Zabbix user columns with Zabbix's
-- defaults; user groups, roles, media types and media, sessions, API tokens, settings.
-- Ids and names of the seeded rows are those of a fresh Zabbix 6.0.
ALTER TABLE users ADD COLUMN url TEXT DEFAULT '';
ALTER TABLE users ADD COLUMN autologin INTEGER DEFAULT 0;
ALTER TABLE users ADD COLUMN autologout TEXT DEFAULT '15m';
ALTER TABLE users ADD COLUMN lang TEXT DEFAULT 'default';
ALTER TABLE users ADD COLUMN refresh TEXT DEFAULT '30s';
ALTER TABLE users ADD COLUMN theme TEXT DEFAULT 'default';
ALTER TABLE users ADD COLUMN rows_per_page INTEGER DEFAULT 50;
ALTER TABLE users ADD COLUMN timezone TEXT DEFAULT 'default';
ALTER TABLE users ADD COLUMN roleid INTEGER;
ALTER TABLE users ADD COLUMN attempt_failed INTEGER DEFAULT 0;
ALTER TABLE users ADD COLUMN attempt_ip TEXT DEFAULT '';
ALTER TABLE users ADD COLUMN attempt_clock INTEGER DEFAULT 0;

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type INTEGER NOT NULL,
    readonly INTEGER NOT NULL DEFAULT 0
);
INSERT INTO roles (id, name, type, readonly) VALUES
    (1, 'User role', 1, 0),
    (2, 'Admin role', 2, 0),
    (3, 'Super admin role', 3, 1),
    (4, 'Guest role', 1, 0);

CREATE TABLE usergroups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    gui_access INTEGER NOT NULL DEFAULT 0,
    users_status INTEGER NOT NULL DEFAULT 0,
    debug_mode INTEGER NOT NULL DEFAULT 0
);
INSERT INTO usergroups (id, name, gui_access, users_status, debug_mode) VALUES
    (7, 'Zabbix administrators', 0, 0, 0),
    (8, 'Guests', 0, 0, 0),
    (9, 'Disabled', 0, 1, 0),
    (11, 'Enabled debug mode', 0, 0, 1),
    (12, 'No access to the frontend', 3, 0, 0),
    (13, 'Internal', 1, 0, 0);

CREATE TABLE users_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    usrgrpid INTEGER NOT NULL REFERENCES usergroups(id) ON DELETE CASCADE,
    userid INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    UNIQUE (usrgrpid, userid)
);
CREATE INDEX users_groups_user ON users_groups(userid, usrgrpid);

CREATE TABLE media_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT ''
);
-- Types: 0 e-mail, 2 SMS, 4 webhook. The webhook integrations ship disabled.
INSERT INTO media_types (id, name, type, status) VALUES
    (1, 'Email', 0, 0),
    (3, 'SMS', 2, 0),
    (4, 'Email (HTML)', 0, 0),
    (5, 'Mattermost', 4, 1),
    (6, 'Opsgenie', 4, 1),
    (7, 'PagerDuty', 4, 1),
    (8, 'Pushover', 4, 1),
    (9, 'Slack', 4, 1),
    (10, 'Discord', 4, 1),
    (11, 'SIGNL4', 4, 1),
    (12, 'Jira', 4, 1),
    (13, 'Jira with CustomFields', 4, 1),
    (14, 'MS Teams', 4, 1),
    (15, 'Redmine', 4, 1),
    (16, 'Telegram', 4, 1),
    (17, 'Zendesk', 4, 1),
    (18, 'ServiceNow', 4, 1),
    (19, 'Zammad', 4, 1),
    (20, 'Jira ServiceDesk', 4, 1),
    (21, 'OTRS', 4, 1),
    (22, 'iLert', 4, 1);

CREATE TABLE medias (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    userid INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mediatypeid INTEGER NOT NULL REFERENCES media_types(id) ON DELETE CASCADE,
    -- Recipients joined with a newline.
    sendto TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    severity INTEGER NOT NULL DEFAULT 63,
    period TEXT NOT NULL DEFAULT '1-7,00:00-24:00'
);
CREATE INDEX medias_user ON medias(userid);

-- `hash` is the SHA-256 hex digest of the session id; status 0 active, 1 passive.
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    userid INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    lastaccess INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(userid);

-- `token_hash` is the SHA-256 hex digest of the 64-hex token, NULL until generated.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    userid INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT UNIQUE,
    lastaccess INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    creator_userid INTEGER REFERENCES users(id) ON DELETE SET NULL,
    UNIQUE (userid, name)
);

CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- A directory made before this migration: its users get a role and the default group.
UPDATE users SET roleid = CASE WHEN is_admin THEN 3 ELSE 1 END;
INSERT INTO users_groups (usrgrpid, userid) SELECT 13, id FROM users;
INSERT INTO users_groups (usrgrpid, userid) SELECT 7, id FROM users WHERE id = 1;
