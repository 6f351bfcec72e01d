//! The `Store` trait: every persistent operation the directory needs, named after the
//! domain. Backends (SQLite, PostgreSQL) implement it; an acknowledged write is durable
//! (flushed to disk) before the returned future completes.

use async_trait::async_trait;

use crate::accounts::{AccountWrite, NewAccount};
use crate::credentials::{NewWebhook, Webhook};
use crate::department::{Department, DepartmentPatch, DepartmentQuery, NewDepartment};
use crate::groups::{NewUserGroup, Role, UserGroup, UserGroupPatch};
use crate::ids::FieldId;
use crate::ids::{DepartmentId, FileId, GroupId, MediaTypeId, RoleId, TokenId, UserId, WebhookId};
use crate::media::{Media, MediaType};
use crate::query::{UserPage, UserQuery};
use crate::sessions::{Access, ApiToken, ApiTokenPatch, NewApiToken, Session, TokenQuery};
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

tokio::task_local! {
    /// Set while a caller runs several writes it will answer together (a `batch`): the
    /// backend may then skip the flush of each, and the caller calls [`Store::sync`] once
    /// before it answers. Nothing is acknowledged before it is durable.
    static DEFERRED_SYNC: bool;
}

/// Runs `fut` with per-write flushes deferred (see [`DEFERRED_SYNC`]).
pub async fn with_deferred_sync<F: std::future::Future>(fut: F) -> F::Output {
    DEFERRED_SYNC.scope(true, fut).await
}

/// Whether the current task defers flushes.
pub fn sync_deferred() -> bool {
    DEFERRED_SYNC.try_with(|d| *d).unwrap_or(false)
}

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
    /// The `guest` user, created right after the administrator (so it gets id 2).
    pub guest: Option<NewUser>,
    /// Group memberships of the bootstrap users.
    pub memberships: Vec<(UserId, GroupId)>,
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
    /// A user and their webhooks, read together (one snapshot where the backend can):
    /// what authenticating a webhook call needs.
    async fn user_with_webhooks(&self, id: UserId) -> StoreResult<Option<(User, Vec<Webhook>)>> {
        match self.user(id).await? {
            Some(user) => Ok(Some((user, self.webhooks_of(id).await?))),
            None => Ok(None),
        }
    }
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;

    /// Makes every write this process has committed durable (flushed to disk). Backends
    /// that flush every commit have nothing to do.
    async fn sync(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Appends audit records (user changes are recorded by the write itself).
    async fn append_audit(&self, _records: Vec<crate::audit::NewAuditRecord>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Reads the audit log.
    async fn audit_log(&self, _query: crate::audit::AuditQuery) -> StoreResult<Vec<crate::audit::AuditRecord>> {
        Err(unsupported())
    }

    /// Rate and operating-time limits shared by every server on this database, when the
    /// backend serves several processes; None means each process keeps its own.
    fn shared_limits(&self) -> Option<&dyn crate::limits::SharedLimits> {
        None
    }

    async fn create_app(&self, _app: crate::oauth::NewApp) -> StoreResult<i64> {
        Err(unsupported())
    }
    async fn apps(&self) -> StoreResult<Vec<crate::oauth::App>> {
        Err(unsupported())
    }
    async fn app_by_client_id(&self, _client_id: &str) -> StoreResult<Option<crate::oauth::App>> {
        Err(unsupported())
    }
    async fn app_by_id(&self, _id: i64) -> StoreResult<Option<crate::oauth::App>> {
        Err(unsupported())
    }
    /// Stores a token pair; with `replaces`, atomically drops the pair of that refresh
    /// digest (`Missing("token")` when it is already gone: a refresh token works once).
    async fn save_token(&self, _token: crate::oauth::TokenRecord, _replaces: Option<String>) -> StoreResult<()> {
        Err(unsupported())
    }
    async fn token_by_access(&self, _access_hash: &str) -> StoreResult<Option<crate::oauth::TokenRecord>> {
        Err(unsupported())
    }
    async fn token_by_refresh(&self, _refresh_hash: &str) -> StoreResult<Option<crate::oauth::TokenRecord>> {
        Err(unsupported())
    }
    async fn save_auth_code(&self, _code_hash: String, _app: i64, _user: UserId, _expires: i64) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Removes and returns a code's (app, user, expires): a code works once.
    async fn take_auth_code(&self, _code_hash: &str) -> StoreResult<Option<(i64, UserId, i64)>> {
        Err(unsupported())
    }

    /// `Taken("binding")` when the same app already binds this event to this handler.
    async fn bind_event(&self, _binding: crate::events::NewBinding) -> StoreResult<i64> {
        Err(unsupported())
    }
    /// Removes matching bindings of an app (any handler when None); returns how many.
    async fn unbind_event(
        &self,
        _app: i64,
        _event: &str,
        _handler: Option<String>,
        _offline: bool,
    ) -> StoreResult<u64> {
        Err(unsupported())
    }
    async fn bindings(&self, _app: i64) -> StoreResult<Vec<crate::events::Binding>> {
        Err(unsupported())
    }
    /// Claims up to `limit` deliveries due at `now` (hidden from other claimers for `lease` seconds).
    async fn claim_deliveries(&self, _now: i64, _limit: u64, _lease: i64) -> StoreResult<Vec<crate::events::Delivery>> {
        Err(unsupported())
    }
    /// Records an attempt: delivered (removed), or retried at `retry_at`, or given up (None).
    async fn finish_delivery(&self, _id: i64, _delivered: bool, _retry_at: Option<i64>) -> StoreResult<()> {
        Err(unsupported())
    }
    async fn take_offline_events(
        &self,
        _query: crate::events::OfflineQuery,
    ) -> StoreResult<Vec<crate::events::OfflineEvent>> {
        Err(unsupported())
    }
    /// Removes an app's offline events of a process (only these message ids when given).
    async fn clear_offline_events(
        &self,
        _app: i64,
        _process_id: &str,
        _message_ids: Option<Vec<String>>,
    ) -> StoreResult<u64> {
        Err(unsupported())
    }
    /// Marks an app's offline events of a process as failed.
    async fn fail_offline_events(&self, _app: i64, _process_id: &str, _message_ids: Vec<String>) -> StoreResult<u64> {
        Err(unsupported())
    }

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

    // --- Groups, roles, media, accounts, sessions, tokens, settings (the Zabbix face).
    // Every method has a default body so a backend may add them one by one.

    /// Roles, all or those with these ids, by id.
    async fn roles(&self, _ids: Option<Vec<RoleId>>) -> StoreResult<Vec<Role>> {
        Err(unsupported())
    }
    /// User groups, all or those with these ids, by id.
    async fn user_groups(&self, _ids: Option<Vec<GroupId>>) -> StoreResult<Vec<UserGroup>> {
        Err(unsupported())
    }
    /// Memberships `(user, group)` of these users and/or groups (None: any), by user then group.
    async fn memberships(
        &self,
        _users: Option<Vec<UserId>>,
        _groups: Option<Vec<GroupId>>,
    ) -> StoreResult<Vec<(UserId, GroupId)>> {
        Err(unsupported())
    }
    /// Creates groups atomically; `Taken("name")` for a duplicate name.
    async fn create_user_groups(&self, _groups: Vec<NewUserGroup>) -> StoreResult<Vec<GroupId>> {
        Err(unsupported())
    }
    /// Changes groups atomically; `Missing("user group")` for an unknown id.
    async fn update_user_groups(&self, _patches: Vec<(GroupId, UserGroupPatch)>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Deletes groups (and their memberships) atomically.
    async fn delete_user_groups(&self, _ids: Vec<GroupId>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Media types, all or those with these ids, by id.
    async fn media_types(&self, _ids: Option<Vec<MediaTypeId>>) -> StoreResult<Vec<MediaType>> {
        Err(unsupported())
    }
    /// The media of these users, by user then media id.
    async fn medias_of(&self, _users: Vec<UserId>) -> StoreResult<Vec<Media>> {
        Err(unsupported())
    }
    /// Creates users with memberships and media in one atomic write; ids in order.
    async fn create_accounts(&self, _accounts: Vec<NewAccount>) -> StoreResult<Vec<UserId>> {
        Err(unsupported())
    }
    /// Applies account changes in one atomic write: all succeed or none is kept.
    async fn update_accounts(&self, _writes: Vec<AccountWrite>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Deletes users with everything that hangs off them, atomically.
    async fn delete_users(&self, _ids: Vec<UserId>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// A user with role and groups, in one read.
    async fn access(&self, _user: UserId) -> StoreResult<Option<Access>> {
        Err(unsupported())
    }
    /// The session with this digest and its user's access, in one read.
    async fn session_access(&self, _hash: &str) -> StoreResult<Option<(Session, Access)>> {
        Err(unsupported())
    }
    /// The API token with this secret digest and its user's access, in one read.
    async fn api_token_access(&self, _hash: &str) -> StoreResult<Option<(ApiToken, Access)>> {
        Err(unsupported())
    }
    /// Counts a failed login (`attempt_failed + 1`, with the caller's address and time).
    async fn login_failed(&self, _user: UserId, _ip: String, _clock: i64) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Records a successful login: resets the failure count, sets `last_login`, stores the session.
    async fn login_succeeded(&self, _session: Session) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Marks a session passive; false when there was no active session with this digest.
    async fn end_session(&self, _hash: &str) -> StoreResult<bool> {
        Err(unsupported())
    }
    /// Creates API tokens atomically; `Taken("token name")` when a user already has the name.
    async fn create_api_tokens(&self, _tokens: Vec<NewApiToken>) -> StoreResult<Vec<TokenId>> {
        Err(unsupported())
    }
    async fn api_tokens(&self, _query: &TokenQuery) -> StoreResult<Vec<ApiToken>> {
        Err(unsupported())
    }
    /// Changes tokens atomically; `Taken("token name")` on a duplicate name.
    async fn update_api_tokens(&self, _patches: Vec<(TokenId, ApiTokenPatch)>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Stores new secret digests of tokens (replacing any earlier secret), atomically.
    async fn set_api_token_secrets(&self, _secrets: Vec<(TokenId, String)>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Records a token's use.
    async fn touch_api_token(&self, _id: TokenId, _clock: i64) -> StoreResult<()> {
        Err(unsupported())
    }
    async fn delete_api_tokens(&self, _ids: Vec<TokenId>) -> StoreResult<()> {
        Err(unsupported())
    }
    /// Every stored setting (unset keys read as their defaults, see `settings`).
    async fn settings(&self) -> StoreResult<crate::settings::Settings> {
        Err(unsupported())
    }
    /// Stores settings atomically.
    async fn set_settings(&self, _values: Vec<(String, String)>) -> StoreResult<()> {
        Err(unsupported())
    }
}
