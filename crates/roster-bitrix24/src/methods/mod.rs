//! The method table: every Bitrix24 method Roster serves, its scope, and dispatch by
//! name. One file per method family; each has a `run(call, params) -> Reply`.

pub mod batch;
mod department;
mod event;
mod system;
mod user_add;
mod user_get;
mod user_info;
mod user_update;
mod user_userfield;

use std::future::Future;
use std::pin::Pin;

use roster_core::oauth::App;
use roster_core::{Actor, Credential, FileId, User, UserField};
use serde_json::Value as Json;

use crate::envelope::{Reply, Timing};
use crate::error::BxError;
use crate::fields::{self, Flavor, Visibility};
use crate::input::Params;
use crate::Bitrix;

/// Which scope a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Global ("basic") methods: no scope.
    None,
    /// `user`, `user_basic` or `user_brief`.
    UserRead,
    /// `user` only; the limited user scopes get the HTTP-200 `insufficient_scope` body.
    UserWrite,
    Department,
    /// `user.userfield`.
    UserField,
}

impl Need {
    pub fn scope_name(self) -> Option<&'static str> {
        match self {
            Need::None => None,
            Need::UserRead | Need::UserWrite => Some("user"),
            Need::Department => Some("department"),
            Need::UserField => Some("user.userfield"),
        }
    }
}

/// The methods, in the order `methods` lists them.
pub const METHODS: &[(&str, Need)] = &[
    ("user.fields", Need::UserRead),
    ("user.current", Need::UserRead),
    ("user.get", Need::UserRead),
    ("user.search", Need::UserRead),
    ("user.add", Need::UserWrite),
    ("user.update", Need::UserWrite),
    ("department.fields", Need::Department),
    ("department.get", Need::Department),
    ("department.add", Need::Department),
    ("department.update", Need::Department),
    ("department.delete", Need::Department),
    ("user.userfield.add", Need::UserField),
    ("user.userfield.update", Need::UserField),
    ("user.userfield.list", Need::UserField),
    ("user.userfield.delete", Need::UserField),
    ("user.userfield.file.get", Need::UserField),
    ("user.admin", Need::None),
    ("user.access", Need::None),
    ("profile", Need::None),
    ("batch", Need::None),
    ("scope", Need::None),
    ("methods", Need::None),
    ("method.get", Need::None),
    ("server.time", Need::None),
    ("app.info", Need::None),
    ("event.bind", Need::None),
    ("event.unbind", Need::None),
    ("event.get", Need::None),
    ("events", Need::None),
    ("event.offline.get", Need::None),
    ("event.offline.clear", Need::None),
    ("event.offline.error", Need::None),
    ("event.offline.list", Need::None),
];

pub fn need_of(method: &str) -> Option<Need> {
    METHODS.iter().find(|(m, _)| *m == method).map(|(_, n)| *n)
}

/// One authenticated call in progress.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub bx: &'a Bitrix,
    pub actor: &'a Actor,
    /// The OAuth application, when the call came with an access token.
    pub app: Option<&'a App>,
    /// Scheme and host for absolute file URLs, without a trailing slash.
    pub base_url: &'a str,
    /// The `If-Match` version of a single call (Roster's opt-in optimistic concurrency).
    pub if_match: Option<i64>,
    /// The client's address, when known.
    pub peer: Option<std::net::IpAddr>,
}

impl Call<'_> {
    /// The audit context of changes this call makes.
    pub fn audit(&self) -> roster_core::audit::AuditContext {
        let ip = self.peer.map(|p| p.to_string()).unwrap_or_default();
        roster_core::audit::AuditContext::new(Some(self.actor.id()), "bitrix24", ip)
    }

    /// Records a change of a resource other than a user (best effort, after the change).
    pub async fn record(&self, action: i64, resource_type: i64, id: Option<i64>, name: &str, details: Json) {
        let mut rec = roster_core::audit::NewAuditRecord::new(&self.audit(), action, resource_type, id, name);
        rec.details = details.to_string();
        self.bx.dir.audit(vec![rec]).await;
    }
}

pub type MethodFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, BxError>> + Send + 'a>>;

/// Checks the scope, then runs the method (an unknown name is `ERROR_METHOD_NOT_FOUND`).
pub fn dispatch<'a>(call: &'a Call<'a>, method: &'a str, params: Params) -> MethodFuture<'a> {
    Box::pin(async move {
        let need = need_of(method).ok_or_else(BxError::method_not_found)?;
        let scopes = &call.actor.scopes;
        match need {
            Need::None => {}
            Need::UserRead if ["user", "user_basic", "user_brief"].iter().any(|s| scopes.has(s)) => {}
            Need::UserWrite if scopes.has("user") => {}
            Need::UserWrite if scopes.has("user_basic") || scopes.has("user_brief") => {
                return Ok(Reply::bare_error(
                    "insufficient_scope",
                    "The request requires higher privileges than provided by the access token",
                ));
            }
            Need::Department if scopes.has("department") => {}
            Need::UserField if scopes.has("user.userfield") => {}
            _ if matches!(call.actor.credential, Credential::App(_)) => {
                return Err(BxError {
                    description: "The request requires higher privileges than provided by the access token".into(),
                    ..BxError::insufficient_scope()
                })
            }
            _ => return Err(BxError::insufficient_scope()),
        }
        match method {
            "user.update" => user_update::run(call, params).await,
            "user.add" => user_add::run(call, params).await,
            "user.get" => user_get::run(call, params, false).await,
            "user.search" => user_get::run(call, params, true).await,
            "user.current" => user_info::current(call).await,
            "user.fields" => user_info::fields(call, &params).await,
            "user.admin" => Ok(Reply::new(Json::Bool(call.actor.is_admin()))),
            "user.access" => Ok(user_info::access(call, &params)),
            "profile" => user_info::profile(call).await,
            "department.fields" => Ok(department::fields()),
            "department.get" => department::get(call, &params).await,
            "department.add" => department::add(call, &params).await,
            "department.update" => department::update(call, &params).await,
            "department.delete" => department::delete(call, &params).await,
            "user.userfield.add" => user_userfield::add(call, &params).await,
            "user.userfield.update" => user_userfield::update(call, &params).await,
            "user.userfield.list" => user_userfield::list(call, &params).await,
            "user.userfield.delete" => user_userfield::delete(call, &params).await,
            "user.userfield.file.get" => user_userfield::file_get(call, &params).await,
            "batch" => batch::run(call, params).await,
            "scope" => Ok(system::scope(call, &params)),
            "methods" => Ok(system::methods(call, &params)),
            "method.get" => Ok(system::method_get(call, &params)),
            "server.time" => Ok(system::server_time()),
            "app.info" => Ok(system::app_info(call)),
            "event.bind" => event::bind(call, &params).await,
            "event.unbind" => event::unbind(call, &params).await,
            "event.get" => event::get(call).await,
            "events" => event::names(call),
            "event.offline.get" => event::offline_get(call, &params).await,
            "event.offline.clear" => event::offline_clear(call, &params).await,
            "event.offline.error" => event::offline_error(call, &params).await,
            "event.offline.list" => event::offline_list(call, &params).await,
            _ => Err(BxError::method_not_found()),
        }
    })
}

/// Runs a method with its operating-time account: refused while over the limit,
/// counted afterwards. Returns the reply and its timings.
pub async fn run_timed(call: &Call<'_>, method: &str, params: Params) -> Result<(Reply, Timing), BxError> {
    let start = chrono::Utc::now();
    let now = unix(start);
    let counted = method != "batch";
    let who = &call.actor.credential;
    let shared = call.bx.dir.store().shared_limits();
    if counted {
        call.bx.operating.check_shared(shared, who, method, now).await.map_err(|_| BxError::operation_time_limit())?;
    }
    let t0 = std::time::Instant::now();
    let reply = dispatch(call, method, params).await?;
    let processing = t0.elapsed().as_secs_f64();
    let usage = if counted {
        call.bx.operating.record_shared(shared, who, method, now, processing).await
    } else {
        call.bx.operating.check_shared(shared, who, method, now).await.unwrap_or_else(|u| u)
    };
    let finish = chrono::Utc::now();
    Ok((reply, Timing { start, finish, processing, operating: usage.operating, operating_reset_at: usage.reset_at }))
}

pub fn unix(t: chrono::DateTime<chrono::Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6
}

impl Call<'_> {
    pub fn visibility(&self) -> Visibility {
        Visibility::of(&self.actor.scopes)
    }

    /// Whether custom (`UF_USR_*`) fields are visible: full `user` scope, or `user.userfield`.
    pub fn sees_custom(&self) -> bool {
        self.actor.scopes.has("user") || self.actor.scopes.has("user.userfield")
    }

    /// The custom fields this caller may see (none without the scope).
    pub async fn custom_fields(&self) -> Result<Vec<UserField>, BxError> {
        if !self.sees_custom() {
            return Ok(Vec::new());
        }
        Ok(self.bx.dir.user_fields().await?)
    }

    /// Serialises users with the given fields and custom fields, resolving file URLs in one lookup.
    pub async fn users_json(
        &self,
        users: &[User],
        codes: &[&str],
        custom: &[&UserField],
        flavor: Flavor,
    ) -> Result<Vec<Json>, BxError> {
        let mut ids: Vec<FileId> = Vec::new();
        for u in users {
            for v in u.values() {
                if let roster_core::Value::File(f) = v {
                    ids.push(*f);
                }
            }
            for f in custom.iter().filter(|f| f.type_id == roster_core::FieldType::File) {
                ids.extend(u.custom(f.id).iter().filter_map(|v| v.text.parse().ok().and_then(FileId::new)));
            }
        }
        let refs = if ids.is_empty() {
            Vec::new()
        } else {
            self.bx.dir.store().file_refs(ids).await.map_err(|e| BxError::from_core(e.into()))?
        };
        let url = |id: FileId| refs.iter().find(|r| r.id == id).map(|r| crate::files::url(self.base_url, r));
        Ok(users
            .iter()
            .map(|u| {
                let mut obj = fields::user_json(u, codes, flavor, &url);
                if let Json::Object(map) = &mut obj {
                    for f in custom {
                        if let Some(v) = crate::uf::to_json(f, u.custom(f.id), u.id, &url) {
                            map.insert(f.name.clone(), v);
                        }
                    }
                }
                obj
            })
            .collect())
    }
}
