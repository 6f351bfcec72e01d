//! Event bindings of OAuth applications (`event.bind`), the durable delivery queue of
//! online handlers, and the offline event store (`event.offline.*`). An event is queued
//! in the same transaction as the change that causes it, so none is lost.

use crate::ids::UserId;

/// The user events Roster raises.
pub const USER_EVENTS: &[&str] = &["ONUSERADD"];
/// Scopes any of which makes the user events visible to an app.
pub const USER_EVENT_SCOPES: &[&str] = &["user", "user_basic", "user_brief"];
/// Every event name `events` lists.
pub const ALL_EVENTS: &[&str] = &["ONAPPINSTALL", "ONAPPUNINSTALL", "ONOFFLINEEVENT", "ONUSERADD"];

/// Retries stop this long after the event (the issue asks for at least an hour).
pub const GIVE_UP_AFTER: i64 = 2 * 3600;

/// Seconds to wait before attempt `n + 1` after `n` failures: 1, 2, 4, ... capped at 5 minutes.
pub fn backoff(failures: i64) -> i64 {
    let exp = failures.clamp(1, 20) - 1;
    (1i64 << exp).min(300)
}

/// One binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub id: i64,
    pub app: i64,
    pub event: String,
    /// Handler URL; empty for offline bindings.
    pub handler: String,
    /// The user whose rights the handler gets (`auth_type`); None means the binder's app.
    pub auth_user: Option<UserId>,
    pub offline: bool,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewBinding {
    pub app: i64,
    pub event: String,
    pub handler: String,
    pub auth_user: Option<UserId>,
    pub offline: bool,
}

/// A pending delivery to an online handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub binding: Binding,
    pub event: String,
    /// The object the event is about (the new user's id for ONUSERADD).
    pub entity: i64,
    /// The user whose action raised the event, if any.
    pub actor: Option<UserId>,
    pub failures: i64,
    pub created: i64,
}

/// An event kept for `event.offline.get`.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineEvent {
    pub id: i64,
    pub app: i64,
    pub event: String,
    pub entity: i64,
    pub created: i64,
    pub message_id: String,
    pub process_id: Option<String>,
    pub error: bool,
}

/// What `event.offline.get` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineQuery {
    pub app: i64,
    pub limit: u64,
    /// Remove what is returned (else mark it with `process_id`).
    pub clear: bool,
    pub process_id: String,
    /// Return events marked as failed instead of the fresh ones.
    pub errors: bool,
    /// Only read: neither remove nor reserve (`event.offline.list`).
    pub peek: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_to_five_minutes() {
        let waits: Vec<i64> = (1..=12).map(super::backoff).collect();
        assert_eq!(waits[..4], [1, 2, 4, 8]);
        assert_eq!(*waits.last().unwrap(), 300);
        // Retries go on for more than an hour before giving up.
        let total: i64 = (1..=30).map(super::backoff).sum();
        assert!(total > 3600 && super::GIVE_UP_AFTER >= 3600);
    }
}
