//! A user as the directory holds it, and the requests that create or change one.
//! Optional parts of a patch mean "leave unchanged" (only the fields sent change).

use chrono::NaiveDate;

use crate::attrs::{AttrId, AttrKind, ATTRS};
use crate::ids::{DepartmentId, FieldId, FileId, UserId};
use crate::userfields::{CustomChange, CustomValue};

/// A stored attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    /// Unix seconds.
    DateTime(i64),
    Int(i64),
    File(FileId),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Employee (has at least one department) or extranet (none), as Bitrix24 derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Employee,
    Extranet,
}

/// One user with every column attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub is_admin: bool,
    pub departments: Vec<DepartmentId>,
    /// Bumped on every change; used for optimistic concurrency.
    pub version: i64,
    /// Values of custom fields that have any, in field id order.
    pub custom: Vec<(FieldId, Vec<CustomValue>)>,
    values: Vec<Value>,
}

impl User {
    /// Builds a user from values in [`ATTRS`] order; missing trailing values are NULL.
    pub fn from_values(id: UserId, login: String, mut values: Vec<Value>) -> User {
        values.resize(ATTRS.len(), Value::Null);
        User { id, login, is_admin: false, departments: Vec::new(), version: 0, custom: Vec::new(), values }
    }

    pub fn get(&self, attr: AttrId) -> &Value {
        &self.values[attr.index()]
    }

    pub fn set(&mut self, attr: AttrId, value: Value) {
        self.values[attr.index()] = value;
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values of custom field `field` (empty when it has none).
    pub fn custom(&self, field: FieldId) -> &[CustomValue] {
        self.custom.iter().find(|(f, _)| *f == field).map_or(&[], |(_, v)| v.as_slice())
    }

    pub fn is_active(&self) -> bool {
        matches!(self.get(AttrId::named("active")), Value::Bool(true))
    }

    pub fn user_type(&self) -> UserType {
        if self.departments.is_empty() {
            UserType::Extranet
        } else {
            UserType::Employee
        }
    }
}

/// Content of an uploaded file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileUpload {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// What a patch does to one attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Set(Value),
    /// Store a new file and point a `File` attribute at it (the old file is deleted).
    Upload(FileUpload),
}

/// A partial update: only what is listed changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub attrs: Vec<(AttrId, Change)>,
    pub departments: Option<Vec<DepartmentId>>,
    /// Custom field values to change.
    pub custom: Vec<(FieldId, CustomChange)>,
    pub login: Option<String>,
    /// When set, the update applies only if the stored version still equals it.
    pub expected_version: Option<i64>,
    /// Events to raise about this user (e.g. `ONUSERADD`), queued in the same write.
    pub emit: Vec<&'static str>,
    /// Who makes the change (recorded with its events: handlers get that user's tokens).
    pub actor: Option<UserId>,
    /// Record the change in the audit log, in the same transaction.
    pub audit: Option<crate::audit::AuditContext>,
}

impl UserPatch {
    pub fn set(&mut self, attr: AttrId, value: Value) {
        self.attrs.push((attr, Change::Set(value)));
    }

    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.departments.is_none() && self.login.is_none() && self.custom.is_empty()
    }

    /// Drops every change of `attr` (used when a caller may not change it).
    pub fn drop_attr(&mut self, attr: AttrId) {
        self.attrs.retain(|(a, _)| *a != attr);
    }

    /// Checks that each value fits its attribute's kind; system attributes are refused.
    pub fn validate(&self) -> Result<(), String> {
        for (attr, change) in &self.attrs {
            let def = attr.attr();
            let fits = match change {
                Change::Upload(_) => def.kind == AttrKind::File,
                Change::Set(Value::Null) => def.kind != AttrKind::Bool,
                Change::Set(v) => matches!(
                    (def.kind, v),
                    (AttrKind::Text, Value::Text(_))
                        | (AttrKind::Bool, Value::Bool(_))
                        | (AttrKind::Date, Value::Date(_))
                        | (AttrKind::DateTime, Value::DateTime(_))
                        | (AttrKind::File, Value::File(_))
                        | (AttrKind::Int, Value::Int(_))
                ),
            };
            if !fits {
                return Err(format!("value of {} does not fit its type", def.name));
            }
        }
        Ok(())
    }
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub login: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub patch: UserPatch,
}
