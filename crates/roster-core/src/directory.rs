//! The directory service: the rules between a caller and the store. Who may read or
//! change whom, what an update may touch, how credentials authenticate. Knows nothing
//! of HTTP, JSON or SQL; every face goes through it.

use std::sync::Arc;

use crate::accounts::NewAccount;
use crate::attrs::AttrId;
use crate::credentials::{self, NewWebhook, Scopes, Webhook};
use crate::department::{Department, DepartmentPatch, DepartmentQuery, NewDepartment};
use crate::error::{CoreError, CoreResult};
use crate::ids::FieldId;
use crate::ids::{DepartmentId, GroupId, RoleId, UserId, WebhookId};
use crate::query::{Cond, Op, UserPage, UserQuery};
use crate::store::{Bootstrap, Store, StoreError};
use crate::user::{NewUser, User, UserPatch, Value};
use crate::userfields::{check_name, NewUserField, UserField, UserFieldPatch};

/// Who is calling, resolved from a credential.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub scopes: Scopes,
    pub credential: Credential,
}

/// Which credential authenticated the call (rate and time limits are kept per credential).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Webhook(WebhookId),
    /// An OAuth application (its numeric id).
    App(i64),
}

impl Actor {
    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }
}

/// Why a credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, or the code does not match any of the user's webhooks.
    #[error("wrong authorization data")]
    BadCredentials,
    /// The credential is valid but its user may no longer act (deactivated).
    #[error("user may not act")]
    Inactive,
    /// The access token's lifetime is over.
    #[error("the access token provided has expired")]
    Expired,
    /// The token's application was removed or deactivated.
    #[error("application not found")]
    AppNotFound,
    /// The application is limited to other users.
    #[error("the user does not have access to the application")]
    UserAccess,
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// What bootstrap made, to be shown once to the operator.
#[derive(Debug, Clone)]
pub struct BootstrapReport {
    pub admin_password: String,
    pub password_generated: bool,
    pub webhook_code: String,
}

/// Who an update may change and how.
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
}

impl Directory {
    pub fn new(store: Arc<dyn Store>) -> Directory {
        Directory { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Creates user 1 (`Admin`), department 1 and a full-scope webhook for user 1 on an
    /// empty directory. `None` when the directory already existed (nothing is changed).
    pub async fn bootstrap(
        &self,
        admin_password: Option<String>,
        webhook_code: Option<String>,
    ) -> CoreResult<Option<BootstrapReport>> {
        let password_generated = admin_password.is_none();
        let admin_password = admin_password.unwrap_or_else(|| credentials::generate_secret(16));
        let webhook_code = webhook_code.unwrap_or_else(|| credentials::generate_secret(24));
        let hash = credentials::hash_password(&admin_password).map_err(CoreError::Internal)?;
        let mut patch = UserPatch::default();
        patch.set(AttrId::named("active"), Value::Bool(true));
        // The names a fresh Zabbix gives its administrator.
        patch.set(AttrId::named("name"), Value::Text("Zabbix".into()));
        patch.set(AttrId::named("last_name"), Value::Text("Administrator".into()));
        patch.set(AttrId::named("email"), Value::Text(String::new()));
        patch.departments = Some(vec![DepartmentId::ROOT]);
        // Zabbix's user 1: super admin role, auto-login on, no auto-logout.
        patch.set(AttrId::named("roleid"), Value::Int(RoleId::SUPER_ADMIN.get()));
        patch.set(AttrId::named("autologin"), Value::Int(1));
        patch.set(AttrId::named("autologout"), Value::Text("0".into()));
        let data = Bootstrap {
            admin: NewUser { login: "Admin".into(), password_hash: Some(hash), is_admin: true, patch },
            root_department: NewDepartment { name: "Company".into(), sort: 500, parent: None, head: None },
            webhook: NewWebhook {
                user: UserId::ADMIN,
                scopes: Scopes::all(),
                code_hash: credentials::hash_secret(&webhook_code),
            },
            guest: Some(guest_user()),
            memberships: vec![
                (UserId::ADMIN, GroupId::ADMINISTRATORS),
                (UserId::ADMIN, GroupId::INTERNAL),
                (UserId::GUEST, GroupId::GUESTS),
                (UserId::GUEST, GroupId::DISABLED),
                (UserId::GUEST, GroupId::INTERNAL),
            ],
        };
        let made = self.store.bootstrap(data).await?;
        Ok(made.then_some(BootstrapReport { admin_password, password_generated, webhook_code }))
    }

    /// Resolves a webhook (`user` is a numeric id or a login) to an actor.
    pub async fn authenticate_webhook(&self, user: &str, code: &str) -> Result<Actor, AuthError> {
        let numeric = user.parse::<i64>().ok();
        let id = match numeric {
            Some(raw) => UserId::new(raw),
            None => self.store.password_of(user).await.map_err(CoreError::from)?.map(|(id, _)| id),
        };
        let found = match id {
            Some(id) => self.store.user_with_webhooks(id).await.map_err(CoreError::from)?,
            None => None,
        };
        // A login names active users only; a numeric id names any (the inactive are refused below).
        let (user, hooks) =
            found.filter(|(u, _)| numeric.is_some() || u.is_active()).ok_or(AuthError::BadCredentials)?;
        // Check every hook so the time taken does not say which one matched.
        let mut matched: Option<&Webhook> = None;
        for hook in &hooks {
            if credentials::secret_matches(code, &hook.code_hash) && matched.is_none() {
                matched = Some(hook);
            }
        }
        let hook = matched.ok_or(AuthError::BadCredentials)?;
        if !user.is_active() {
            return Err(AuthError::Inactive);
        }
        Ok(Actor { scopes: hook.scopes.clone(), credential: Credential::Webhook(hook.id), user })
    }

    pub async fn user(&self, id: UserId) -> CoreResult<Option<User>> {
        Ok(self.store.user(id).await?)
    }

    /// Lists users visible to `actor`. Without effective admin mode an employee sees
    /// employees and themselves; an extranet user sees only themselves.
    /// Zabbix's internal `guest` account is not listed here (see [`GUEST_LOGIN`]).
    pub async fn find_users(&self, actor: &Actor, mut query: UserQuery, admin_mode: bool) -> CoreResult<UserPage> {
        query.filter.push(Cond::Login { op: Op::Ne, values: vec![GUEST_LOGIN.into()] });
        if !(admin_mode && actor.is_admin()) {
            let own = actor.id().get();
            if actor.user.departments.is_empty() {
                query.filter.push(Cond::Id { op: Op::Eq, values: vec![own] });
            } else {
                query.filter.push(Cond::VisibleTo(own));
            }
        }
        Ok(self.store.find_users(&query).await?)
    }

    /// Whether `actor` may add users (invite right): administrators.
    pub fn may_invite(&self, actor: &Actor) -> bool {
        actor.is_admin()
    }

    /// Adds a user; only inviters may. Departments given must exist.
    pub async fn add_user(&self, actor: &Actor, user: NewUser) -> CoreResult<UserId> {
        if !self.may_invite(actor) {
            return Err(CoreError::AccessDenied);
        }
        user.patch.validate().map_err(CoreError::Invalid)?;
        if let Some(depts) = &user.patch.departments {
            self.check_departments(depts).await?;
        }
        // The other face's view of a new user: the User role, in the default group.
        let mut user = user;
        if crate::accounts::role_in(&user.patch).is_none() {
            user.patch.set(AttrId::named("roleid"), Value::Int(RoleId::USER.get()));
        }
        let account = NewAccount { user, groups: vec![GroupId::INTERNAL], medias: Vec::new() };
        let ids = self.store.create_accounts(vec![account]).await?;
        ids.into_iter().next().ok_or_else(|| CoreError::Internal("no id for a created user".into()))
    }

    /// Applies `patch` to user `id`. An administrator may change anyone; a user only
    /// themselves, and then activity and departments are silently left as they are.
    /// An unknown id is reported as `AccessDenied`, as Bitrix24 does.
    pub async fn update_user(&self, actor: &Actor, id: UserId, mut patch: UserPatch) -> CoreResult<()> {
        self.prepare_update(actor, id, &mut patch)?;
        if let Some(depts) = &patch.departments {
            self.check_departments(depts).await?;
        }
        match self.store.update_user(id, patch).await {
            Err(StoreError::Missing("user")) => Err(CoreError::AccessDenied),
            other => Ok(other?),
        }
    }

    /// The permission and shape checks of [`Directory::update_user`], without the write.
    pub fn prepare_update(&self, actor: &Actor, id: UserId, patch: &mut UserPatch) -> CoreResult<()> {
        if !actor.is_admin() {
            if actor.id() != id {
                return Err(CoreError::AccessDenied);
            }
            patch.drop_attr(AttrId::named("active"));
            patch.departments = None;
        }
        patch.validate().map_err(CoreError::Invalid)
    }

    async fn check_departments(&self, ids: &[DepartmentId]) -> CoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let query = DepartmentQuery { id: Some(ids.to_vec()), ..Default::default() };
        let found = self.store.departments(&query).await?;
        match ids.iter().find(|id| !found.iter().any(|d| d.id == **id)) {
            Some(missing) => Err(CoreError::Invalid(format!("department {missing} does not exist"))),
            None => Ok(()),
        }
    }

    pub async fn departments(&self, query: &DepartmentQuery) -> CoreResult<Vec<Department>> {
        Ok(self.store.departments(query).await?)
    }

    pub async fn add_department(&self, actor: &Actor, dept: NewDepartment) -> CoreResult<DepartmentId> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        Ok(self.store.create_department(dept).await?)
    }

    pub async fn update_department(&self, actor: &Actor, id: DepartmentId, patch: DepartmentPatch) -> CoreResult<()> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        if patch.parent == Some(Some(id)) {
            return Err(CoreError::Invalid("a department cannot be its own parent".into()));
        }
        Ok(self.store.update_department(id, patch).await?)
    }

    pub async fn delete_department(&self, actor: &Actor, id: DepartmentId) -> CoreResult<()> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        if id == DepartmentId::ROOT {
            return Err(CoreError::Invalid("the root department cannot be deleted".into()));
        }
        Ok(self.store.delete_department(id).await?)
    }

    /// Every custom user field.
    pub async fn user_fields(&self) -> CoreResult<Vec<UserField>> {
        Ok(self.store.user_fields().await?)
    }

    /// Defines a custom field; administrators only. `Taken` when the name exists.
    pub async fn add_user_field(&self, actor: &Actor, field: NewUserField) -> CoreResult<FieldId> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        check_name(&field.name).map_err(CoreError::Invalid)?;
        Ok(self.store.create_user_field(field).await?)
    }

    pub async fn update_user_field(&self, actor: &Actor, id: FieldId, patch: UserFieldPatch) -> CoreResult<()> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        Ok(self.store.update_user_field(id, patch).await?)
    }

    /// Deletes a custom field and every value of it.
    pub async fn delete_user_field(&self, actor: &Actor, id: FieldId) -> CoreResult<()> {
        if !actor.is_admin() {
            return Err(CoreError::AccessDenied);
        }
        Ok(self.store.delete_user_field(id).await?)
    }

    /// Adds a webhook for `user` and returns its id and the code (shown once).
    pub async fn add_webhook(
        &self,
        user: UserId,
        scopes: Scopes,
        code: Option<String>,
    ) -> CoreResult<(WebhookId, String)> {
        if self.store.user(user).await?.is_none() {
            return Err(CoreError::NotFound("user"));
        }
        let code = code.unwrap_or_else(|| credentials::generate_secret(24));
        let hook = NewWebhook { user, scopes, code_hash: credentials::hash_secret(&code) };
        Ok((self.store.create_webhook(hook).await?, code))
    }
}

/// The login of Zabbix's internal guest account (user 2 of a fresh directory). It exists
/// for the Zabbix face only: the Bitrix24 face does not list it.
pub const GUEST_LOGIN: &str = "guest";

/// The `guest` user of a fresh directory, as Zabbix 6.0 creates it.
fn guest_user() -> NewUser {
    let mut patch = UserPatch::default();
    patch.set(AttrId::named("active"), Value::Bool(true));
    patch.set(AttrId::named("name"), Value::Text(String::new()));
    patch.set(AttrId::named("last_name"), Value::Text(String::new()));
    patch.set(AttrId::named("roleid"), Value::Int(RoleId::GUEST.get()));
    NewUser { login: GUEST_LOGIN.into(), password_hash: None, is_admin: false, patch }
}
