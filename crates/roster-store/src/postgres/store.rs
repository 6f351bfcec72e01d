//! `impl Store for PgStore`: each method takes a pooled connection (reads) or runs in its
//! own transaction (writes) and hands over to the module that owns the tables: `ops`
//! (users, files, departments, webhooks), `userfields`, `oauth`, `events`, `accounts`
//! and `access` (the Zabbix face). Shared rate and operating-time limits live in `limits`.

use async_trait::async_trait;
use roster_core::audit::{AuditQuery, AuditRecord, NewAuditRecord};
use roster_core::credentials::{NewWebhook, Webhook};
use roster_core::events::{Binding, Delivery, NewBinding, OfflineEvent, OfflineQuery};
use roster_core::limits::SharedLimits;
use roster_core::oauth::{App, NewApp, TokenRecord};
use roster_core::query::{UserPage, UserQuery};
use roster_core::store::{Bootstrap, FileRef, StoredFile};
use roster_core::{
    Access, AccountWrite, ApiToken, ApiTokenPatch, Department, DepartmentId, DepartmentPatch, DepartmentQuery, FieldId,
    FileId, GroupId, Media, MediaType, MediaTypeId, NewAccount, NewApiToken, NewDepartment, NewUser, NewUserField,
    NewUserGroup, Role, RoleId, Session, Settings, Store, StoreError, StoreResult, TokenId, TokenQuery, User,
    UserField, UserFieldPatch, UserGroup, UserGroupPatch, UserId, UserPatch, WebhookId,
};

use super::sql::col;
use super::{access, accounts, audit, events, oauth, ops, userfields};
use super::{execute, query, PgStore};

#[async_trait]
impl Store for PgStore {
    async fn bootstrap(&self, data: Bootstrap) -> StoreResult<bool> {
        self.write(move |tx| Box::pin(ops::bootstrap(tx, data))).await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let (c, _) = self.client().await?;
        ops::load_user(&c, id).await
    }

    async fn password_of(&self, login: &str) -> StoreResult<Option<(UserId, Option<String>)>> {
        let (c, _) = self.client().await?;
        let sql = "SELECT id, password_hash FROM users WHERE login_lc = $1";
        let rows = query(&c, sql, &[&login.to_lowercase()]).await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let hash: Option<String> = col(r, 1)?;
        Ok(UserId::new(col(r, 0)?).map(|id| (id, hash)))
    }

    async fn find_users(&self, q: &UserQuery) -> StoreResult<UserPage> {
        let (c, ready) = self.client().await?;
        ops::find_users(&c, ready, q).await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserId> {
        self.write(move |tx| Box::pin(ops::insert_user(tx, user))).await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<()> {
        self.write(move |tx| Box::pin(ops::apply_patch(tx, id, patch, true))).await
    }

    async fn update_users(&self, patches: Vec<(UserId, UserPatch)>) -> StoreResult<Vec<StoreResult<()>>> {
        self.write(move |tx| Box::pin(ops::update_users(tx, patches))).await
    }

    async fn file(&self, id: FileId) -> StoreResult<Option<StoredFile>> {
        let (c, _) = self.client().await?;
        ops::file(&c, id).await
    }

    async fn file_refs(&self, ids: Vec<FileId>) -> StoreResult<Vec<FileRef>> {
        let (c, _) = self.client().await?;
        ops::file_refs(&c, ids).await
    }

    async fn departments(&self, q: &DepartmentQuery) -> StoreResult<Vec<Department>> {
        let (c, ready) = self.client().await?;
        ops::departments(&c, ready, q).await
    }

    async fn create_department(&self, dept: NewDepartment) -> StoreResult<DepartmentId> {
        self.write(move |tx| Box::pin(async move { ops::insert_department(tx, &dept).await })).await
    }

    async fn update_department(&self, id: DepartmentId, patch: DepartmentPatch) -> StoreResult<()> {
        self.write(move |tx| Box::pin(ops::update_department(tx, id, patch))).await
    }

    async fn delete_department(&self, id: DepartmentId) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                match execute(tx, "DELETE FROM departments WHERE id = $1", &[&id.get()]).await? {
                    0 => Err(StoreError::Missing("department")),
                    _ => Ok(()),
                }
            })
        })
        .await
    }

    async fn create_webhook(&self, hook: NewWebhook) -> StoreResult<WebhookId> {
        self.write(move |tx| Box::pin(async move { ops::insert_webhook(tx, &hook).await })).await
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let (c, _) = self.client().await?;
        let sql = format!("{} ORDER BY id", ops::SELECT_WEBHOOKS);
        ops::webhooks_from(query(&c, &sql, &[]).await?)
    }

    async fn webhooks_of(&self, user: UserId) -> StoreResult<Vec<Webhook>> {
        let (c, _) = self.client().await?;
        let sql = format!("{} WHERE user_id = $1 ORDER BY id", ops::SELECT_WEBHOOKS);
        ops::webhooks_from(query(&c, &sql, &[&user.get()]).await?)
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        let sql = "DELETE FROM webhooks WHERE id = $1";
        self.write(move |tx| Box::pin(async move { Ok(execute(tx, sql, &[&id.get()]).await? > 0) })).await
    }

    async fn append_audit(&self, records: Vec<NewAuditRecord>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { audit::append(tx, &records).await })).await
    }

    async fn audit_log(&self, query: AuditQuery) -> StoreResult<Vec<AuditRecord>> {
        let (c, _) = self.client().await?;
        audit::read(&c, &query).await
    }

    fn shared_limits(&self) -> Option<&dyn SharedLimits> {
        Some(self)
    }

    async fn create_app(&self, app: NewApp) -> StoreResult<i64> {
        self.write(move |tx| Box::pin(async move { oauth::insert_app(tx, &app).await })).await
    }

    async fn apps(&self) -> StoreResult<Vec<App>> {
        let (c, _) = self.client().await?;
        oauth::apps(&c).await
    }

    async fn app_by_client_id(&self, client_id: &str) -> StoreResult<Option<App>> {
        let (c, _) = self.client().await?;
        oauth::app_by_client_id(&c, client_id).await
    }

    async fn app_by_id(&self, id: i64) -> StoreResult<Option<App>> {
        let (c, _) = self.client().await?;
        oauth::app_by_id(&c, id).await
    }

    async fn save_token(&self, token: TokenRecord, replaces: Option<String>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { oauth::save_token(tx, &token, replaces.as_deref()).await })).await
    }

    async fn token_by_access(&self, access_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let (c, _) = self.client().await?;
        oauth::token_by(&c, false, access_hash).await
    }

    async fn token_by_refresh(&self, refresh_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let (c, _) = self.client().await?;
        oauth::token_by(&c, true, refresh_hash).await
    }

    async fn save_auth_code(&self, code_hash: String, app: i64, user: UserId, expires: i64) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { oauth::save_code(tx, &code_hash, app, user, expires).await })).await
    }

    async fn take_auth_code(&self, code_hash: &str) -> StoreResult<Option<(i64, UserId, i64)>> {
        let hash = code_hash.to_owned();
        self.write(move |tx| Box::pin(async move { oauth::take_code(tx, &hash).await })).await
    }

    async fn bind_event(&self, binding: NewBinding) -> StoreResult<i64> {
        self.write(move |tx| Box::pin(async move { events::bind(tx, &binding).await })).await
    }

    async fn unbind_event(&self, app: i64, event: &str, handler: Option<String>, offline: bool) -> StoreResult<u64> {
        let event = event.to_owned();
        self.write(move |tx| {
            Box::pin(async move { events::unbind(tx, app, &event, handler.as_deref(), offline).await })
        })
        .await
    }

    async fn bindings(&self, app: i64) -> StoreResult<Vec<Binding>> {
        let (c, _) = self.client().await?;
        events::bindings(&c, app).await
    }

    async fn claim_deliveries(&self, now: i64, limit: u64, lease: i64) -> StoreResult<Vec<Delivery>> {
        self.write(move |tx| Box::pin(events::claim(tx, now, limit, lease))).await
    }

    async fn finish_delivery(&self, id: i64, delivered: bool, retry_at: Option<i64>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(events::finish(tx, id, delivered, retry_at))).await
    }

    async fn take_offline_events(&self, query: OfflineQuery) -> StoreResult<Vec<OfflineEvent>> {
        self.write(move |tx| Box::pin(async move { events::take_offline(tx, &query).await })).await
    }

    async fn clear_offline_events(
        &self,
        app: i64,
        process_id: &str,
        message_ids: Option<Vec<String>>,
    ) -> StoreResult<u64> {
        let process = process_id.to_owned();
        self.write(move |tx| {
            Box::pin(async move { events::clear_offline(tx, app, &process, message_ids.as_deref()).await })
        })
        .await
    }

    async fn fail_offline_events(&self, app: i64, process_id: &str, message_ids: Vec<String>) -> StoreResult<u64> {
        let process = process_id.to_owned();
        self.write(move |tx| Box::pin(async move { events::fail_offline(tx, app, &process, &message_ids).await })).await
    }

    async fn user_fields(&self) -> StoreResult<Vec<UserField>> {
        let (c, _) = self.client().await?;
        userfields::load_fields(&c).await
    }

    async fn create_user_field(&self, field: NewUserField) -> StoreResult<FieldId> {
        self.write(move |tx| Box::pin(userfields::insert_field(tx, field))).await
    }

    async fn update_user_field(&self, id: FieldId, patch: UserFieldPatch) -> StoreResult<()> {
        self.write(move |tx| Box::pin(userfields::update_field(tx, id, patch))).await
    }

    async fn delete_user_field(&self, id: FieldId) -> StoreResult<()> {
        self.write(move |tx| Box::pin(userfields::delete_field(tx, id))).await
    }

    async fn roles(&self, ids: Option<Vec<RoleId>>) -> StoreResult<Vec<Role>> {
        let (c, _) = self.client().await?;
        access::roles(&c, ids).await
    }

    async fn user_groups(&self, ids: Option<Vec<GroupId>>) -> StoreResult<Vec<UserGroup>> {
        let (c, _) = self.client().await?;
        access::user_groups(&c, ids).await
    }

    async fn memberships(
        &self,
        users: Option<Vec<UserId>>,
        groups: Option<Vec<GroupId>>,
    ) -> StoreResult<Vec<(UserId, GroupId)>> {
        let (c, _) = self.client().await?;
        access::memberships(&c, users, groups).await
    }

    async fn create_user_groups(&self, groups: Vec<NewUserGroup>) -> StoreResult<Vec<GroupId>> {
        self.write(move |tx| Box::pin(accounts::create_user_groups(tx, groups))).await
    }

    async fn update_user_groups(&self, patches: Vec<(GroupId, UserGroupPatch)>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::update_user_groups(tx, patches))).await
    }

    async fn delete_user_groups(&self, ids: Vec<GroupId>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::delete_user_groups(tx, ids))).await
    }

    async fn media_types(&self, ids: Option<Vec<MediaTypeId>>) -> StoreResult<Vec<MediaType>> {
        let (c, _) = self.client().await?;
        access::media_types(&c, ids).await
    }

    async fn medias_of(&self, users: Vec<UserId>) -> StoreResult<Vec<Media>> {
        let (c, _) = self.client().await?;
        access::medias_of(&c, users).await
    }

    async fn create_accounts(&self, accounts: Vec<NewAccount>) -> StoreResult<Vec<UserId>> {
        self.write(move |tx| Box::pin(accounts::create_accounts(tx, accounts))).await
    }

    async fn update_accounts(&self, writes: Vec<AccountWrite>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::update_accounts(tx, writes))).await
    }

    async fn delete_users(&self, ids: Vec<UserId>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::delete_users(tx, ids))).await
    }

    async fn access(&self, user: UserId) -> StoreResult<Option<Access>> {
        let (c, _) = self.client().await?;
        access::access(&c, user).await
    }

    async fn session_access(&self, hash: &str) -> StoreResult<Option<(Session, Access)>> {
        let (c, _) = self.client().await?;
        access::session_access(&c, hash).await
    }

    async fn api_token_access(&self, hash: &str) -> StoreResult<Option<(ApiToken, Access)>> {
        let (c, _) = self.client().await?;
        access::api_token_access(&c, hash).await
    }

    async fn login_failed(&self, user: UserId, ip: String, clock: i64) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { accounts::login_failed(tx, user, &ip, clock).await })).await
    }

    async fn login_succeeded(&self, session: Session) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { accounts::login_succeeded(tx, &session).await })).await
    }

    async fn end_session(&self, hash: &str) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write(move |tx| Box::pin(async move { accounts::end_session(tx, &hash).await })).await
    }

    async fn create_api_tokens(&self, tokens: Vec<NewApiToken>) -> StoreResult<Vec<TokenId>> {
        self.write(move |tx| Box::pin(accounts::create_api_tokens(tx, tokens))).await
    }

    async fn api_tokens(&self, query: &TokenQuery) -> StoreResult<Vec<ApiToken>> {
        let (c, _) = self.client().await?;
        access::api_tokens(&c, query).await
    }

    async fn update_api_tokens(&self, patches: Vec<(TokenId, ApiTokenPatch)>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::update_api_tokens(tx, patches))).await
    }

    async fn set_api_token_secrets(&self, secrets: Vec<(TokenId, String)>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::set_api_token_secrets(tx, secrets))).await
    }

    async fn touch_api_token(&self, id: TokenId, clock: i64) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::touch_api_token(tx, id, clock))).await
    }

    async fn delete_api_tokens(&self, ids: Vec<TokenId>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::delete_api_tokens(tx, ids))).await
    }

    async fn settings(&self) -> StoreResult<Settings> {
        let (c, _) = self.client().await?;
        access::settings(&c).await
    }

    async fn set_settings(&self, values: Vec<(String, String)>) -> StoreResult<()> {
        self.write(move |tx| Box::pin(accounts::set_settings(tx, values))).await
    }
}
