//! The `Store` trait: every persistent operation the directory needs, named after the
//! domain. Backends (SQLite, PostgreSQL) implement it; an acknowledged write is durable
//! (flushed to disk) before the returned future completes.

use async_trait::async_trait;

use crate::credentials::{NewWebhook, Webhook};
use crate::department::{Department, DepartmentPatch, DepartmentQuery, NewDepartment};
use crate::ids::{DepartmentId, FileId, UserId, WebhookId};
use crate::query::{UserPage, UserQuery};
use crate::ids::FieldId;
use crate::user::{NewUser, User, UserPatch};
use crate::userfields::{NewUserField, UserField, UserFieldPatch};

/// Failures a backend reports, already free of database codes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (`what` names it: "login", "email", ...).
    #[error("{0} is already taken")]
    Taken(&'static str),
    /// A referenced row does not exist (`what` names it).
    #[error("{0} does not exist")]
    Missing(&'static str),
    /// The row changed since the version the caller expected.
    #[error("version conflict")]
    VersionConflict,
    /// Anything else; the text is for logs, never for clients.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The error of an operation a backend does not implement yet.
pub fn unsupported() -> StoreError {
    StoreError::Backend("not supported by this backend".into())
}

/// A stored file with its content.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub id: FileId,
    pub name: String,
    pub content_type: String,
    /// Random key that makes the file's URL unguessable.
    pub key: String,
    pub data: Vec<u8>,
}

/// A file's name and URL key, without its content.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub id: FileId,
    pub name: String,
    pub key: String,
}

/// What an empty directory is given on first start, written in one transaction.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub admin: NewUser,
    pub root_department: NewDepartment,
    pub webhook: NewWebhook,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes the bootstrap set if the directory is empty; false when it was not.
    async fn bootstrap(&self, data: Bootstrap) -> StoreResult<bool>;

    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// The stored password hash of a login (case-insensitive), with the user's id.
    async fn password_of(&self, login: &str) -> StoreResult<Option<(UserId, Option<String>)>>;
    async fn find_users(&self, query: &UserQuery) -> StoreResult<UserPage>;
    async fn create_user(&self, user: NewUser) -> StoreResult<UserId>;
    /// Applies a patch; `Missing("user")` when there is no such user.
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<()>;
    /// Several patches in one durable commit; each succeeds or fails alone.
    async fn update_users(&self, patches: Vec<(UserId, UserPatch)>) -> StoreResult<Vec<StoreResult<()>>>;

    async fn file(&self, id: FileId) -> StoreResult<Option<StoredFile>>;
    /// Names and keys of these files (those that exist), for building URLs.
    async fn file_refs(&self, ids: Vec<FileId>) -> StoreResult<Vec<FileRef>>;

    async fn departments(&self, query: &DepartmentQuery) -> StoreResult<Vec<Department>>;
    async fn create_department(&self, dept: NewDepartment) -> StoreResult<DepartmentId>;
    async fn update_department(&self, id: DepartmentId, patch: DepartmentPatch) -> StoreResult<()>;
    async fn delete_department(&self, id: DepartmentId) -> StoreResult<()>;

    async fn create_webhook(&self, hook: NewWebhook) -> StoreResult<WebhookId>;
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhooks_of(&self, user: UserId) -> StoreResult<Vec<Webhook>>;
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;

    /// Every custom field with its enumeration items, by sort then id.
    async fn user_fields(&self) -> StoreResult<Vec<UserField>> {
        Err(unsupported())
    }
    /// `Taken("field")` when the name exists.
    async fn create_user_field(&self, _field: NewUserField) -> StoreResult<FieldId> {
        Err(unsupported())
    }
    /// `Missing("field")` when there is no such field.
    async fn update_user_field(&self, _id: FieldId, _patch: UserFieldPatch) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Deletes the field and every value of it; `Missing("field")` when absent.
    async fn delete_user_field(&self, _id: FieldId) -> StoreResult<()> {
        Err(unsupported())
    }
}
