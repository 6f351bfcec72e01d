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
positive_id!(
    /// A custom user field (`user.userfield.*` `ID`).
    FieldId
);
positive_id!(
    /// An item of an enumeration custom field.
    EnumItemId
);

impl UserId {
    /// The administrator created at bootstrap.
    pub const ADMIN: UserId = UserId(1);
}

impl DepartmentId {
    /// The company itself, created at bootstrap.
    pub const ROOT: DepartmentId = DepartmentId(1);
}

positive_id!(
    /// A user group (Zabbix `usrgrpid`).
    GroupId
);
positive_id!(
    /// A user role (Zabbix `roleid`).
    RoleId
);
positive_id!(
    /// A media type (Zabbix `mediatypeid`).
    MediaTypeId
);
positive_id!(
    /// One medium of a user (Zabbix `mediaid`).
    MediaId
);
positive_id!(
    /// An API token (Zabbix `tokenid`).
    TokenId
);

impl UserId {
    /// The `guest` user every fresh directory has (Zabbix's user 2).
    pub const GUEST: UserId = UserId(2);
}

impl GroupId {
    /// "Zabbix administrators", which user 1 joins at bootstrap.
    pub const ADMINISTRATORS: GroupId = GroupId(7);
    /// "Guests".
    pub const GUESTS: GroupId = GroupId(8);
    /// "Disabled": its members may not log in.
    pub const DISABLED: GroupId = GroupId(9);
    /// "Internal": the group a user added without groups joins.
    pub const INTERNAL: GroupId = GroupId(13);
}

impl RoleId {
    /// "User role" (type 1), given to users added through another face.
    pub const USER: RoleId = RoleId(1);
    /// "Super admin role" (type 3, read-only).
    pub const SUPER_ADMIN: RoleId = RoleId(3);
    /// "Guest role" (type 1).
    pub const GUEST: RoleId = RoleId(4);
}
