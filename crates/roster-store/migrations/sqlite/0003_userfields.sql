-- Custom user fields (user.userfield.*) and their values.
CREATE TABLE user_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type_id TEXT NOT NULL,
    xml_id TEXT,
    sort INTEGER NOT NULL DEFAULT 100,
    multiple INTEGER NOT NULL DEFAULT 0,
    mandatory INTEGER NOT NULL DEFAULT 0,
    show_filter TEXT NOT NULL DEFAULT 'N',
    show_in_list INTEGER NOT NULL DEFAULT 1,
    edit_in_list INTEGER NOT NULL DEFAULT 1,
    is_searchable INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL,
    labels TEXT NOT NULL
);
CREATE TABLE user_field_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    field_id INTEGER NOT NULL REFERENCES user_fields(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 500,
    def INTEGER NOT NULL DEFAULT 0,
    xml_id TEXT NOT NULL
);
CREATE INDEX user_field_items_field ON user_field_items(field_id);
CREATE TABLE user_uf_values (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES user_fields(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text_value TEXT NOT NULL,
    num_value REAL,
    PRIMARY KEY (user_id, field_id, seq)
);
CREATE INDEX user_uf_values_text ON user_uf_values(field_id, text_value);
CREATE INDEX user_uf_values_num ON user_uf_values(field_id, num_value);
