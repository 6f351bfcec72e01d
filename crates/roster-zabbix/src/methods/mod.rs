//! The method table: every Zabbix method Roster serves, whether it takes `auth`, the
//! lowest user type that may call it, and dispatch by name. One file per method family;
//! each `run(call, params)` answers the `result` JSON or a `ZbxError`.

mod apiinfo;
mod auditlog;
mod authentication;
mod listing;
mod mediatype;
mod role;
mod token;
mod user_checks;
mod user_create;
mod user_delete;
mod user_get;
mod user_login;
pub mod user_object;
mod user_update;
mod user_view;
mod usergroup;

use serde_json::Value as Json;

use crate::auth::{authenticate, Caller};
use crate::envelope::CallEnv;
use crate::error::{ZbxError, ZbxResult};
use crate::{ApiVersion, RequestCtx, Zabbix};

/// One method: its lower-case name, whether it needs authentication, its minimum user type.
#[derive(Debug, Clone, Copy)]
pub struct MethodDef {
    pub name: &'static str,
    pub auth: bool,
    pub min_type: i64,
}

const fn def(name: &'static str, auth: bool, min_type: i64) -> MethodDef {
    MethodDef { name, auth, min_type }
}

/// Every method, by API.
pub const METHODS: &[MethodDef] = &[
    def("apiinfo.version", false, 0),
    def("user.login", false, 0),
    def("user.checkauthentication", false, 0),
    def("user.logout", true, 1),
    def("user.get", true, 1),
    def("user.create", true, 3),
    def("user.update", true, 1),
    def("user.delete", true, 3),
    def("user.unblock", true, 3),
    def("usergroup.get", true, 1),
    def("usergroup.create", true, 3),
    def("usergroup.update", true, 3),
    def("usergroup.delete", true, 3),
    def("role.get", true, 1),
    def("mediatype.get", true, 1),
    def("authentication.get", true, 3),
    def("authentication.update", true, 3),
    def("token.create", true, 1),
    def("token.get", true, 1),
    def("token.update", true, 1),
    def("token.delete", true, 1),
    def("token.generate", true, 1),
    def("auditlog.get", true, 3),
];

/// Finds a method as Zabbix does: split at the first `.`, lower-cased, API checked first.
pub fn lookup(method: &str) -> ZbxResult<MethodDef> {
    let lower = method.to_lowercase();
    let (api, name) = lower.split_once('.').unwrap_or((lower.as_str(), ""));
    if !METHODS.iter().any(|m| m.name.split_once('.').is_some_and(|(a, _)| a == api)) {
        return Err(ZbxError::no_method(format!("Incorrect API \"{api}\".")));
    }
    let full = format!("{api}.{name}");
    METHODS
        .iter()
        .find(|m| m.name == full)
        .copied()
        .ok_or_else(|| ZbxError::no_method(format!("Incorrect method \"{full}\".")))
}

/// One call in progress.
pub struct Call<'a> {
    pub zbx: &'a Zabbix,
    pub caller: Option<&'a Caller>,
    pub ctx: &'a RequestCtx,
    pub def: MethodDef,
}

impl Call<'_> {
    pub fn version(&self) -> ApiVersion {
        self.zbx.version()
    }

    /// The audit context of changes this call makes.
    pub fn audit(&self) -> roster_core::audit::AuditContext {
        let actor = self.caller.map(|c| c.access.user.id);
        roster_core::audit::AuditContext::new(actor, "zabbix", self.ctx.ip.clone())
    }

    /// Records changes of resources other than users (best effort, after the change).
    pub async fn record(&self, action: i64, resource_type: i64, items: Vec<(Option<i64>, String)>) {
        let ctx = self.audit();
        let records = items
            .into_iter()
            .map(|(id, name)| roster_core::audit::NewAuditRecord::new(&ctx, action, resource_type, id, name))
            .collect();
        self.zbx.dir.audit(records).await;
    }

    pub fn store(&self) -> &std::sync::Arc<dyn roster_core::Store> {
        self.zbx.dir.store()
    }

    /// The caller of an authenticated method.
    pub fn caller(&self) -> ZbxResult<&Caller> {
        self.caller.ok_or_else(|| ZbxError::params(crate::error::text::NOT_AUTHORIZED))
    }
}

/// Looks the method up, authenticates, checks the user type and runs the method.
pub async fn dispatch(zbx: &Zabbix, env: &CallEnv, ctx: &RequestCtx) -> ZbxResult<Json> {
    let def = lookup(&env.method)?;
    let caller = if def.auth {
        let caller = authenticate(zbx, env.auth.as_deref(), ctx).await?;
        if caller.user_type() < def.min_type {
            return Err(ZbxError::params(format!("No permissions to call \"{}\".", def.name)));
        }
        Some(caller)
    } else {
        if env.auth.is_some() {
            return Err(ZbxError::params(format!(
                "The \"{}\" method must be called without the \"auth\" parameter.",
                def.name
            )));
        }
        None
    };
    let call = Call { zbx, caller: caller.as_ref(), ctx, def };
    let params = &env.params;
    match def.name {
        "apiinfo.version" => apiinfo::version(&call, params),
        "user.login" => user_login::login(&call, params).await,
        "user.checkauthentication" => user_login::check_authentication(&call, params).await,
        "user.logout" => user_login::logout(&call, params).await,
        "user.unblock" => user_login::unblock(&call, params).await,
        "user.get" => user_get::run(&call, params).await,
        "user.create" => user_create::run(&call, params).await,
        "user.update" => user_update::run(&call, params).await,
        "user.delete" => user_delete::run(&call, params).await,
        "usergroup.get" => usergroup::get(&call, params).await,
        "usergroup.create" => usergroup::create(&call, params).await,
        "usergroup.update" => usergroup::update(&call, params).await,
        "usergroup.delete" => usergroup::delete(&call, params).await,
        "role.get" => role::get(&call, params).await,
        "mediatype.get" => mediatype::get(&call, params).await,
        "authentication.get" => authentication::get(&call, params).await,
        "authentication.update" => authentication::update(&call, params).await,
        "token.create" => token::create(&call, params).await,
        "token.get" => token::get(&call, params).await,
        "token.update" => token::update(&call, params).await,
        "token.delete" => token::delete(&call, params).await,
        "token.generate" => token::generate(&call, params).await,
        // The audit log is built later for both faces; until then it is empty.
        "auditlog.get" => auditlog::get(&call, params).await,
        other => Err(ZbxError::no_method(format!("Incorrect method \"{other}\"."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_checks_api_then_method() {
        assert_eq!(lookup("APIINFO.Version").map(|m| m.name).ok(), Some("apiinfo.version"));
        assert_eq!(lookup("foo.get").err().map(|e| e.data().to_owned()), Some("Incorrect API \"foo\".".into()));
        assert_eq!(
            lookup("user.frobnicate").err().map(|e| e.data().to_owned()),
            Some("Incorrect method \"user.frobnicate\".".into())
        );
        assert_eq!(lookup("user").err().map(|e| e.data().to_owned()), Some("Incorrect method \"user.\".".into()));
    }
}
