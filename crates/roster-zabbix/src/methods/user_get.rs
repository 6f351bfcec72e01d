//! `user.get` (spec 7): options are read leniently (unknown ones ignored). Exact `filter`
//! and `search` become core filter conditions, `sortfield` only userid/username, and the
//! `select*`/`getAccess` options add groups, media, media types and role. Type 1/2 users
//! see only users sharing a group with them (themselves only with `editable`).

use std::collections::BTreeSet;

use roster_core::{AttrId, Cond, Direction, Filter, GroupId, Op, SortKey, User, UserId, UserQuery, Value};
use serde_json::{Map, Value as Json};

use super::user_view::{self as view, Output};
use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{as_object, scalar_text};

/// User fields that hold text (searchable), with their core attribute.
const TEXT_FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("surname", "last_name"),
    ("url", "url"),
    ("autologout", "autologout"),
    ("lang", "lang"),
    ("refresh", "refresh"),
    ("theme", "theme"),
    ("timezone", "timezone"),
    ("attempt_ip", "attempt_ip"),
];
const INT_FIELDS: &[&str] = &["autologin", "rows_per_page", "attempt_failed", "attempt_clock", "roleid"];

/// PHP truthiness of an option.
pub fn truthy(v: Option<&Json>) -> bool {
    match v {
        None | Some(Json::Null) | Some(Json::Bool(false)) => false,
        Some(Json::String(s)) => !(s.is_empty() || s == "0"),
        Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Object(o)) => !o.is_empty(),
        Some(Json::Bool(true)) => true,
    }
}

/// A scalar or a list of scalars, as texts.
pub fn texts(v: &Json) -> Vec<String> {
    match v {
        Json::Array(a) => a.iter().filter_map(scalar_text).collect(),
        Json::Object(o) => o.values().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

fn ints(v: &Json) -> Vec<i64> {
    texts(v).iter().filter_map(|t| t.parse().ok()).collect()
}

pub async fn run(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let caller = call.caller()?;
    let v = call.version();
    let store = call.store();
    let opts = as_object(params).unwrap_or_default();
    let opt = |k: &str| opts.get(k);
    let mut filter = Filter::default();

    if let Some(ids) = opt("userids").filter(|v| !v.is_null()) {
        filter.push(Cond::Id { op: Op::Eq, values: ints(ids) });
    }
    if let Some(groups) = opt("usrgrpids").filter(|v| !v.is_null()) {
        let groups: Vec<GroupId> = ints(groups).into_iter().filter_map(GroupId::new).collect();
        let members = store.memberships(None, Some(groups)).await?;
        filter.push(Cond::Id { op: Op::Eq, values: members.iter().map(|(u, _)| u.get()).collect() });
    }
    if !caller.is_super_admin() {
        let own = caller.id();
        let visible: Vec<i64> = if truthy(opt("editable")) {
            vec![own.get()]
        } else {
            let groups: Vec<GroupId> = caller.access.groups.iter().map(|g| g.id).collect();
            let mut ids: BTreeSet<i64> =
                store.memberships(None, Some(groups)).await?.iter().map(|(u, _)| u.get()).collect();
            ids.insert(own.get());
            ids.into_iter().collect()
        };
        filter.push(Cond::Id { op: Op::Eq, values: visible });
    }
    if let Some(f) = opt("filter").and_then(as_object) {
        if f.contains_key("passwd") {
            return Err(ZbxError::params("It is not possible to filter by user password."));
        }
        for (field, value) in &f {
            if let Some(cond) = exact(field, value) {
                filter.push(cond);
            }
        }
    }
    let search = opt("search").and_then(as_object).unwrap_or_default();
    if search.contains_key("passwd") {
        return Err(ZbxError::params("It is not possible to search by user password."));
    }
    let start = truthy(opt("startSearch"));
    let wildcards = truthy(opt("searchWildcardsEnabled"));
    let exclude = truthy(opt("excludeSearch"));
    let mut searched: Vec<(String, Vec<String>)> = Vec::new();
    for (field, value) in &search {
        let patterns: Vec<String> =
            texts(value).iter().filter(|p| !p.is_empty()).map(|p| like_pattern(p, start, wildcards)).collect();
        if !patterns.is_empty()
            && (field == "username" || field == "alias" || TEXT_FIELDS.iter().any(|(f, _)| f == field))
        {
            searched.push((field.clone(), patterns));
        }
    }
    let any_of = truthy(opt("searchByAny")) && searched.len() > 1;
    if !any_of {
        for (field, patterns) in &searched {
            filter.push(search_cond(field, if exclude { Op::NotLike } else { Op::Like }, patterns));
        }
    }

    let order = sort(opt("sortfield"), opt("sortorder"))?;
    let limit = opt("limit").and_then(|l| scalar_text(l)?.parse::<u64>().ok()).filter(|l| *l > 0);
    let count = truthy(opt("countOutput"));
    let in_memory = any_of;
    let query = UserQuery {
        filter,
        order,
        offset: 0,
        limit: if in_memory {
            u64::MAX
        } else if count {
            0
        } else {
            limit.unwrap_or(u64::MAX)
        },
        count_total: count && !in_memory,
    };
    let page = store.find_users(&query).await?;
    let mut users = page.items;
    if in_memory {
        users.retain(|u| searched.iter().any(|(f, p)| matches_any(u, f, p)) != exclude);
        if let Some(l) = limit {
            users.truncate(l as usize);
        }
    }
    if count {
        let n = if in_memory { users.len() as u64 } else { page.total.unwrap_or(0) };
        return Ok(Json::String(n.to_string()));
    }
    render(call, &opts, users, v).await
}

/// One `filter` member as a condition; None for fields that are not filterable.
fn exact(field: &str, value: &Json) -> Option<Cond> {
    if value.is_null() {
        return None;
    }
    match field {
        "userid" => Some(Cond::Id { op: Op::Eq, values: ints(value) }),
        "username" | "alias" => Some(Cond::Login { op: Op::Eq, values: texts(value) }),
        f => {
            if let Some((_, attr)) = TEXT_FIELDS.iter().find(|(name, _)| *name == f) {
                let values = texts(value).into_iter().map(Value::Text).collect();
                return Some(Cond::Attr { attr: AttrId::named(attr), op: Op::Eq, values });
            }
            let attr = AttrId::by_name(f).filter(|_| INT_FIELDS.contains(&f))?;
            let nums = ints(value);
            Some(if nums.is_empty() {
                Cond::Never
            } else {
                Cond::Attr { attr, op: Op::Eq, values: nums.into_iter().map(Value::Int).collect() }
            })
        }
    }
}

fn search_cond(field: &str, op: Op, patterns: &[String]) -> Cond {
    match field {
        "username" | "alias" => Cond::Login { op, values: patterns.to_vec() },
        f => {
            let attr = TEXT_FIELDS.iter().find(|(name, _)| *name == f).map_or("name", |(_, a)| a);
            Cond::Attr { attr: AttrId::named(attr), op, values: patterns.iter().cloned().map(Value::Text).collect() }
        }
    }
}

/// A LIKE pattern: `%x%`, `x%` with `startSearch`, `*` as `%` with wildcards enabled.
fn like_pattern(value: &str, start: bool, wildcards: bool) -> String {
    let mut p = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '%' | '_' | '\\' => {
                p.push('\\');
                p.push(c);
            }
            '*' if wildcards => p.push('%'),
            _ => p.push(c),
        }
    }
    if wildcards {
        return p;
    }
    if start {
        format!("{p}%")
    } else {
        format!("%{p}%")
    }
}

/// Case-insensitive LIKE with `%`, `_` and `\` escapes.
pub fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&p[2..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn matches_any(u: &User, field: &str, patterns: &[String]) -> bool {
    let text = view::field(u, if field == "alias" { "username" } else { field }).unwrap_or_default();
    patterns.iter().any(|p| like(p, &text))
}

fn sort(fields: Option<&Json>, orders: Option<&Json>) -> ZbxResult<Vec<(SortKey, Direction)>> {
    let fields = fields.map(texts).unwrap_or_default();
    let orders = orders.map(texts).unwrap_or_default();
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let key = match f.as_str() {
            "userid" => SortKey::Id,
            "username" | "alias" => SortKey::Login,
            other => return Err(ZbxError::app(format!("Sorting by field \"{other}\" not allowed."))),
        };
        let order = orders.get(i).or(orders.first()).map(|o| o.to_ascii_uppercase());
        out.push((key, if order.as_deref() == Some("DESC") { Direction::Desc } else { Direction::Asc }));
    }
    Ok(out)
}

async fn render(call: &Call<'_>, opts: &Map<String, Json>, users: Vec<User>, v: crate::ApiVersion) -> ZbxResult<Json> {
    let store = call.store();
    let all = view::user_fields(v);
    let fields = Output::parse(opts.get("output"), Output::Extend).fields(&all);
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let select = |k: &str| opts.get(k).filter(|v| !v.is_null() && **v != Json::Bool(false));
    let need_groups = select("selectUsrgrps").is_some() || truthy(opts.get("getAccess"));
    let (links, groups) = if need_groups && !ids.is_empty() {
        (store.memberships(Some(ids.clone()), None).await?, store.user_groups(None).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let need_medias = select("selectMedias").is_some() || select("selectMediatypes").is_some();
    let (medias, types) = if need_medias && !ids.is_empty() {
        (store.medias_of(ids.clone()).await?, store.media_types(None).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let roles = if select("selectRole").is_some() { store.roles(None).await? } else { Vec::new() };

    let mut list = Vec::with_capacity(users.len());
    for u in &users {
        let mut obj = view::user_json(u, &fields);
        let own_groups: Vec<&roster_core::UserGroup> = links
            .iter()
            .filter(|(user, _)| *user == u.id)
            .filter_map(|(_, g)| groups.iter().find(|x| x.id == *g))
            .collect();
        if truthy(opts.get("getAccess")) {
            let max =
                |f: fn(&roster_core::UserGroup) -> i64| own_groups.iter().map(|g| f(g)).max().unwrap_or(0).to_string();
            obj.insert("gui_access".into(), Json::String(max(|g| g.gui_access)));
            obj.insert("debug_mode".into(), Json::String(max(|g| g.debug_mode)));
            obj.insert("users_status".into(), Json::String(max(|g| g.users_status)));
        }
        if let Some(out) = select("selectUsrgrps").map(|o| Output::parse(Some(o), Output::Extend)) {
            let list: Vec<Json> =
                own_groups.iter().map(|g| Json::Object(view::select(view::group_json(g, v), &out))).collect();
            obj.insert("usrgrps".into(), Json::Array(list));
        }
        let own_medias: Vec<&roster_core::Media> = medias.iter().filter(|m| m.user == u.id).collect();
        if let Some(out) = select("selectMedias").map(|o| Output::parse(Some(o), Output::Extend)) {
            let list: Vec<Json> = own_medias
                .iter()
                .map(|m| {
                    let email = types.iter().any(|t| t.id == m.mediatype && t.is_email());
                    Json::Object(view::select(view::media_json(m, email), &out))
                })
                .collect();
            obj.insert("medias".into(), Json::Array(list));
        }
        if let Some(out) = select("selectMediatypes").map(|o| Output::parse(Some(o), Output::Extend)) {
            let mut seen = Vec::new();
            for m in &own_medias {
                if !seen.contains(&m.mediatype) {
                    seen.push(m.mediatype);
                }
            }
            let list: Vec<Json> = types
                .iter()
                .filter(|t| seen.contains(&t.id))
                .map(|t| Json::Object(view::select(view::media_type_json(t), &out)))
                .collect();
            obj.insert("mediatypes".into(), Json::Array(list));
        }
        if let Some(out) = select("selectRole").map(|o| Output::parse(Some(o), Output::Extend)) {
            let role = view::field(u, "roleid").and_then(|r| roles.iter().find(|x| x.id.to_string() == r));
            let value = role.map_or(Json::Array(Vec::new()), |r| Json::Object(view::select(view::role_json(r), &out)));
            obj.insert("role".into(), value);
        }
        list.push((u.id, Json::Object(obj)));
    }
    if truthy(opts.get("preservekeys")) {
        Ok(Json::Object(list.into_iter().map(|(id, o)| (id.to_string(), o)).collect()))
    } else {
        Ok(Json::Array(list.into_iter().map(|(_, o)| o).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert_eq!(like_pattern("ad", false, false), "%ad%");
        assert_eq!(like_pattern("ad", true, false), "ad%");
        assert_eq!(like_pattern("a*n", false, true), "a%n");
        assert_eq!(like_pattern("50%", false, false), "%50\\%%");
        assert!(like("%dm%", "Admin") && like("a%", "ADMIN") && !like("b%", "Admin") && like("%50\\%%", "x50%y"));
        assert!(!like("%50\\%%", "x50y"));
    }

    #[test]
    fn sort_fields_are_limited() {
        assert!(sort(Some(&Json::String("name".into())), None).is_err());
        assert_eq!(
            sort(Some(&serde_json::json!(["username"])), Some(&serde_json::json!("desc"))).ok(),
            Some(vec![(SortKey::Login, Direction::Desc)])
        );
    }
}
