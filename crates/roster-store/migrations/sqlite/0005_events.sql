-- Event bindings of applications, the delivery queue of online handlers, offline events.
CREATE TABLE event_bindings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    handler TEXT NOT NULL,
    auth_user INTEGER,
    offline INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    UNIQUE (app_id, event, handler, offline)
);
CREATE INDEX event_bindings_event ON event_bindings(event);
CREATE TABLE event_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    binding_id INTEGER NOT NULL REFERENCES event_bindings(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    actor_id INTEGER,
    failures INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX event_deliveries_due ON event_deliveries(next_at);
CREATE TABLE offline_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    process_id TEXT,
    error INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
CREATE INDEX offline_events_app ON offline_events(app_id, id);
