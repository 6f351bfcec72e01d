//! Identifier newtypes. Constructors validate, so a `UserId` in hand is always positive;
//! faces parse wire values into these and never pass raw integers to the core.

use std::fmt;

macro_rules! positive_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Some(id) when `raw` is a valid (positive) id.
            pub fn new(raw: i64) -> Option<Self> {
                (raw > 0).then_some(Self(raw))
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

positive_id!(
    /// A user's id; the same number in every face (Bitrix24 `ID`, Zabbix `userid`).
    UserId
);
positive_id!(
    /// A department (Bitrix24 `UF_DEPARTMENT` entries, `department.*`).
    DepartmentId
);
positive_id!(
    /// A stored file (photos, logos).
    FileId
);
positive_id!(
    /// An inbound webhook.
    WebhookId
);

impl UserId {
    /// The administrator created at bootstrap.
    pub const ADMIN: UserId = UserId(1);
}

impl DepartmentId {
    /// The company itself, created at bootstrap.
    pub const ROOT: DepartmentId = DepartmentId(1);
}
