//! `role.get` and `mediatype.get`: the fixed catalogs of a fresh Zabbix (roles 1-4, the
//! media types). Type 1/2 users see only their own role. Read-only here: roles and media
//! types are seeded by the migration and not managed through the API.

use serde_json::{Map, Value as Json};

use super::listing::{by_ids, finish, Row};
use super::user_view::{self as view, Output};
use super::Call;
use crate::error::ZbxResult;
use crate::validate::as_object;

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    let store = call.store();
    let opts = as_object(params).unwrap_or_default();
    let mut roles = store.roles(None).await?;
    if !caller.is_super_admin() {
        roles.retain(|r| caller.access.role.as_ref().is_some_and(|own| own.id == r.id));
    }
    let users_out = opts.get("selectUsers").filter(|v| !v.is_null()).map(|o| Output::parse(Some(o), Output::Extend));
    let users = match &users_out {
        Some(_) => {
            store
                .find_users(&roster_core::UserQuery { limit: u64::MAX, count_total: false, ..Default::default() })
                .await?
                .items
        }
        None => Vec::new(),
    };
    let fields = view::user_fields(call.version());
    let mut rows: Vec<Row> = roles
        .iter()
        .map(|r| {
            let mut extra = Map::new();
            if let Some(out) = &users_out {
                let list = users
                    .iter()
                    .filter(|u| view::role_id(u) == r.id.to_string())
                    .map(|u| Json::Object(view::user_json(u, &out.fields(&fields))))
                    .collect();
                extra.insert("users".into(), Json::Array(list));
            }
            Row { fields: view::role_json(r), extra }
        })
        .collect();
    by_ids(&mut rows, &opts, "roleids", "roleid");
    finish(rows, &opts, "roleid", &["roleid", "name"])
}
