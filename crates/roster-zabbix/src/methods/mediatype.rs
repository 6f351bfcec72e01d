//! `mediatype.get`: the media types users' media refer to (e-mail, SMS, webhooks), with
//! `mediatypeids`, `filter`, `output` and the other common options; `selectUsers` lists
//! the users with a medium of that type.

use serde_json::{Map, Value as Json};

use super::listing::{by_ids, finish, Row};
use super::user_view::{self as view, Output};
use super::Call;
use crate::error::ZbxResult;
use crate::validate::as_object;

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let store = call.store();
    let opts = as_object(params).unwrap_or_default();
    let types = store.media_types(None).await?;
    let users_out = opts.get("selectUsers").filter(|v| !v.is_null()).map(|o| Output::parse(Some(o), Output::Extend));
    let (users, medias) = match &users_out {
        Some(_) => {
            let users = store
                .find_users(&roster_core::UserQuery { limit: u64::MAX, count_total: false, ..Default::default() })
                .await?
                .items;
            let medias = store.medias_of(users.iter().map(|u| u.id).collect()).await?;
            (users, medias)
        }
        None => (Vec::new(), Vec::new()),
    };
    let fields = view::user_fields(call.version());
    let mut rows: Vec<Row> = types
        .iter()
        .map(|t| {
            let mut extra = Map::new();
            if let Some(out) = &users_out {
                let list = users
                    .iter()
                    .filter(|u| medias.iter().any(|m| m.user == u.id && m.mediatype == t.id))
                    .map(|u| Json::Object(view::user_json(u, &out.fields(&fields))))
                    .collect();
                extra.insert("users".into(), Json::Array(list));
            }
            Row { fields: view::media_type_json(t), extra }
        })
        .collect();
    by_ids(&mut rows, &opts, "mediatypeids", "mediatypeid");
    finish(rows, &opts, "mediatypeid", &["mediatypeid"])
}
