-- Roster schema v1 (SQLite). Column order of `users` after `version` follows roster_core::ATTRS.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE departments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 500,
    parent INTEGER REFERENCES departments(id) ON DELETE SET NULL,
    head INTEGER
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    key TEXT NOT NULL,
    data BLOB NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL,
    login_lc TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    xml_id TEXT,
    active INTEGER,
    name TEXT,
    last_name TEXT,
    second_name TEXT,
    title TEXT,
    email TEXT,
    last_login INTEGER,
    date_register INTEGER,
    time_zone TEXT,
    timestamp_x INTEGER,
    last_activity_date INTEGER,
    personal_gender TEXT,
    personal_profession TEXT,
    personal_www TEXT,
    personal_birthday TEXT,
    personal_photo INTEGER,
    personal_icq TEXT,
    personal_phone TEXT,
    personal_fax TEXT,
    personal_mobile TEXT,
    personal_pager TEXT,
    personal_street TEXT,
    personal_city TEXT,
    personal_state TEXT,
    personal_zip TEXT,
    personal_country TEXT,
    personal_mailbox TEXT,
    personal_notes TEXT,
    work_phone TEXT,
    work_company TEXT,
    work_position TEXT,
    work_department TEXT,
    work_www TEXT,
    work_fax TEXT,
    work_pager TEXT,
    work_street TEXT,
    work_mailbox TEXT,
    work_city TEXT,
    work_state TEXT,
    work_zip TEXT,
    work_country TEXT,
    work_profile TEXT,
    work_logo INTEGER,
    work_notes TEXT,
    uf_skype_link TEXT,
    uf_zoom TEXT,
    uf_employment_date TEXT,
    uf_interests TEXT,
    uf_skills TEXT,
    uf_web_sites TEXT,
    uf_xing TEXT,
    uf_linkedin TEXT,
    uf_facebook TEXT,
    uf_twitter TEXT,
    uf_skype TEXT,
    uf_district TEXT,
    uf_phone_inner TEXT,
    name_lc TEXT,
    last_name_lc TEXT,
    second_name_lc TEXT,
    email_lc TEXT,
    work_position_lc TEXT
);
CREATE INDEX users_name_lc ON users(name_lc);
CREATE INDEX users_last_name_lc ON users(last_name_lc);
CREATE INDEX users_second_name_lc ON users(second_name_lc);
CREATE INDEX users_email_lc ON users(email_lc);
CREATE INDEX users_work_position_lc ON users(work_position_lc);
CREATE TABLE user_departments (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    dept_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, dept_id)
) WITHOUT ROWID;
CREATE INDEX user_departments_dept ON user_departments(dept_id, user_id);
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX webhooks_user ON webhooks(user_id);
