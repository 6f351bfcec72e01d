//! Media: how a user is notified. A media type is a channel (e-mail, SMS, webhook); a
//! medium is one user's address on one channel, with when and for which severities.
//! The directory stores and returns them; it sends nothing.

use crate::ids::{MediaId, MediaTypeId, UserId};

/// Media type transports (Zabbix `type`).
pub mod transport {
    pub const EMAIL: i64 = 0;
    pub const SCRIPT: i64 = 1;
    pub const SMS: i64 = 2;
    pub const WEBHOOK: i64 = 4;
}

/// The defaults of a medium's optional parts.
pub const DEFAULT_SEVERITY: i64 = 63;
pub const DEFAULT_PERIOD: &str = "1-7,00:00-24:00";

/// A media type as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub id: MediaTypeId,
    pub name: String,
    /// See [`transport`].
    pub kind: i64,
    /// 0 enabled, 1 disabled.
    pub status: i64,
    pub description: String,
}

impl MediaType {
    pub fn is_email(&self) -> bool {
        self.kind == transport::EMAIL
    }
}

/// One medium of a user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub id: MediaId,
    pub user: UserId,
    pub mediatype: MediaTypeId,
    /// Recipients; e-mail media may hold several, the others exactly one.
    pub sendto: Vec<String>,
    /// 0 enabled, 1 disabled.
    pub active: i64,
    /// Bitmask of the six severities.
    pub severity: i64,
    /// When to notify, e.g. `1-5,09:00-18:00`.
    pub period: String,
}

/// A medium in a replacement list: with `id`, that row is updated in place (keeping its
/// id); without, a row is inserted. Rows of the user not in the list are deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaWrite {
    pub id: Option<MediaId>,
    pub mediatype: MediaTypeId,
    pub sendto: Vec<String>,
    pub active: i64,
    pub severity: i64,
    pub period: String,
}

impl MediaWrite {
    /// Whether an existing medium is "the same" one: same channel and recipients.
    pub fn matches(&self, media: &Media) -> bool {
        self.mediatype == media.mediatype && self.sendto == media.sendto
    }
}
