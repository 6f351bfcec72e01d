//! The audit log: who changed what, when, through which face, with the values before and
//! after (never a secret: passwords and codes show as `******`). User changes are written
//! in the same transaction as the change; other resources right after theirs.

use crate::ids::UserId;

/// Actions, numbered as Zabbix's `auditlog.get` reports them.
pub const ACTION_ADD: i64 = 0;
pub const ACTION_UPDATE: i64 = 1;
pub const ACTION_DELETE: i64 = 2;
pub const ACTION_LOGOUT: i64 = 4;
pub const ACTION_LOGIN: i64 = 8;
pub const ACTION_FAILED_LOGIN: i64 = 9;

/// Resource types: Zabbix's numbers where Zabbix has them, Roster's own from 1000 on.
pub const RESOURCE_USER: i64 = 0;
pub const RESOURCE_USER_GROUP: i64 = 14;
pub const RESOURCE_API_TOKEN: i64 = 45;
pub const RESOURCE_AUTHENTICATION: i64 = 42;
pub const RESOURCE_WEBHOOK: i64 = 1001;
pub const RESOURCE_APP: i64 = 1002;
pub const RESOURCE_USER_FIELD: i64 = 1003;
pub const RESOURCE_DEPARTMENT: i64 = 1004;

/// What a secret looks like in the log.
pub const HIDDEN: &str = "******";

/// Who makes a change and through which face.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditContext {
    pub actor: Option<UserId>,
    /// `bitrix24`, `zabbix` or `cli`.
    pub face: &'static str,
    pub ip: String,
    /// Extra changes the store cannot see in the patch, e.g. (`passwd`, `******`).
    pub notes: Vec<(String, String)>,
}

impl AuditContext {
    pub fn new(actor: Option<UserId>, face: &'static str, ip: impl Into<String>) -> AuditContext {
        AuditContext { actor, face, ip: ip.into(), notes: Vec::new() }
    }
}

/// A record to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditRecord {
    pub actor: Option<UserId>,
    pub face: &'static str,
    pub ip: String,
    pub action: i64,
    pub resource_type: i64,
    pub resource_id: Option<i64>,
    pub resource_name: String,
    /// JSON object: `{"user.name": ["update", new, old], ...}` (Zabbix's form).
    pub details: String,
}

impl NewAuditRecord {
    pub fn new(ctx: &AuditContext, action: i64, resource_type: i64, id: Option<i64>, name: impl Into<String>) -> Self {
        NewAuditRecord {
            actor: ctx.actor,
            face: ctx.face,
            ip: ctx.ip.clone(),
            action,
            resource_type,
            resource_id: id,
            resource_name: name.into(),
            details: "{}".into(),
        }
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub clock: i64,
    pub actor: Option<UserId>,
    /// The actor's login at the time.
    pub actor_name: String,
    pub ip: String,
    pub face: String,
    pub action: i64,
    pub resource_type: i64,
    pub resource_id: Option<i64>,
    pub resource_name: String,
    pub recordset_id: String,
    pub details: String,
}

/// Which records to read; every part that is set must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditQuery {
    pub actions: Option<Vec<i64>>,
    pub resource_types: Option<Vec<i64>>,
    pub resource_ids: Option<Vec<i64>>,
    pub actors: Option<Vec<i64>>,
    pub time_from: Option<i64>,
    pub time_till: Option<i64>,
    pub limit: Option<u64>,
    /// Newest first (the default) or oldest first.
    pub ascending: bool,
}

/// The log name of a user attribute: Zabbix's where it has one.
pub fn user_key(attr: &str) -> String {
    let name = match attr {
        "last_name" => "surname",
        "login" => "username",
        other => other,
    };
    format!("user.{name}")
}

impl crate::directory::Directory {
    /// Records changes other than user writes (which record themselves). Best effort:
    /// the change is already made, so a failure here is logged, not reported.
    pub async fn audit(&self, records: Vec<NewAuditRecord>) {
        if let Err(e) = self.store().append_audit(records).await {
            tracing::warn!(error = %e, "audit record not written");
        }
    }
}

/// The record of a user change: `items` are (log key, column, new text) read from the patch
/// before it was applied, `old` the column texts before; unchanged values are left out of an
/// update, and the context's notes (e.g. a masked password) are added. Shared by every backend.
pub fn user_change(
    ctx: &AuditContext,
    id: UserId,
    adding: bool,
    items: &[(String, String, String)],
    old: &std::collections::BTreeMap<String, String>,
    name: String,
) -> NewAuditRecord {
    let verb = if adding { "add" } else { "update" };
    let mut details = serde_json::Map::new();
    for (key, col, new) in items {
        let old = old.get(col).cloned().unwrap_or_default();
        if !adding && old == *new {
            continue;
        }
        let entry = if adding { serde_json::json!([verb, new]) } else { serde_json::json!([verb, new, old]) };
        details.insert(key.clone(), entry);
    }
    for (key, value) in &ctx.notes {
        details.insert(format!("user.{key}"), serde_json::json!([verb, value]));
    }
    let action = if adding { ACTION_ADD } else { ACTION_UPDATE };
    let mut rec = NewAuditRecord::new(ctx, action, RESOURCE_USER, Some(id.get()), name);
    rec.details = serde_json::Value::Object(details).to_string();
    rec
}
