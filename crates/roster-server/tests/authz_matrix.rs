//! Who may do what (issue 9, point 5), as two tables, method × caller → expected answer:
//! every Bitrix24 method for an administrator, an ordinary user, an extranet user, a
//! `user_brief` webhook, a webhook and a token without the method's scope and a user's
//! application token (spec 4.1-4.3, 2.x, 3, 6), plus an expired token and no credentials;
//! every Zabbix method for a super admin, a Zabbix admin, a Zabbix user and its API token
//! (zabbix.md §2-3), plus an expired token, an unknown session and no auth. Then what each
//! may see: no extranet users for ordinary users, no EMAIL under `user_brief`, only users
//! sharing a group for a Zabbix user, and no update of another user in either face.

mod common;

use common::{b64, Reply, Server};
use roster_bitrix24::methods::{Need, METHODS as BITRIX_METHODS};
use roster_zabbix::methods::METHODS as ZABBIX_METHODS;
use serde_json::{json, Value};

const PASSWORD: &str = "Matrix-Pass-2024!";
const FULL_SCOPES: &str = "user,department,user.userfield";

async fn server() -> Server {
    // The brute-force guard counts the expired and missing credentials of the tables.
    common::start_with(|c| c.auth_failures = 1_000_000).await
}

// ---------------------------------------------------------------------------------------
// Bitrix24

/// The callers of the Bitrix24 table, in column order.
const BITRIX_CALLERS: [&str; 7] =
    ["admin", "user", "extranet", "user_brief", "hook w/o scope", "token w/o scope", "user token"];

/// Expected answers (spec 4.1-4.3, 2.5-2.6, 3, 6.1, 8.3): `ok` success; `core` 400 ERROR_CORE
/// access_denied; `ACCESS` 403 ACCESS_DENIED; `uf` 400 with an empty code and "Access
/// denied."; `scope` 403 insufficient_scope; `bare` the insufficient_scope body with HTTP
/// 200 and no `time`; `wrong` 403 WRONG_AUTH_TYPE (events need an application context);
/// `event` 400 ERROR_EVENT_NOT_FOUND (ONUSERADD is outside a `department` app's scopes).
/// `user.update` targets another user.
const BITRIX_TABLE: &[(&str, [&str; 7])] = &[
    ("user.fields", ["ok", "ok", "ok", "ok", "scope", "scope", "ok"]),
    ("user.current", ["ok", "ok", "ok", "ok", "scope", "scope", "ok"]),
    ("user.get", ["ok", "ok", "ok", "ok", "scope", "scope", "ok"]),
    ("user.search", ["ok", "ok", "ok", "ok", "scope", "scope", "ok"]),
    ("user.add", ["ok", "core", "core", "bare", "scope", "scope", "core"]),
    ("user.update", ["ok", "core", "core", "bare", "scope", "scope", "core"]),
    ("department.fields", ["ok", "ok", "ok", "scope", "scope", "scope", "ok"]),
    ("department.get", ["ok", "ok", "ok", "scope", "scope", "scope", "ok"]),
    ("department.add", ["ok", "ACCESS", "ACCESS", "scope", "scope", "scope", "ACCESS"]),
    ("department.update", ["ok", "ACCESS", "ACCESS", "scope", "scope", "scope", "ACCESS"]),
    ("department.delete", ["ok", "ACCESS", "ACCESS", "scope", "scope", "scope", "ACCESS"]),
    ("user.userfield.add", ["ok", "uf", "uf", "scope", "scope", "scope", "uf"]),
    ("user.userfield.update", ["ok", "uf", "uf", "scope", "scope", "scope", "uf"]),
    ("user.userfield.list", ["ok", "uf", "uf", "scope", "scope", "scope", "uf"]),
    ("user.userfield.delete", ["ok", "uf", "uf", "scope", "scope", "scope", "uf"]),
    ("user.userfield.file.get", ["ok", "uf", "uf", "scope", "scope", "scope", "uf"]),
    ("user.admin", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("user.access", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("profile", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("batch", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("scope", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("methods", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("method.get", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("server.time", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("app.info", ["ok", "ok", "ok", "ok", "ok", "ok", "ok"]),
    ("event.bind", ["wrong", "wrong", "wrong", "wrong", "wrong", "event", "ok"]),
    ("event.unbind", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ok"]),
    ("event.get", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ok"]),
    ("events", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ok"]),
    ("event.offline.get", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ACCESS"]),
    ("event.offline.clear", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ACCESS"]),
    ("event.offline.error", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ACCESS"]),
    ("event.offline.list", ["wrong", "wrong", "wrong", "wrong", "wrong", "ok", "ACCESS"]),
];

/// Where each caller sends a method: a webhook base, or `/rest/` with a token.
struct BitrixCallers {
    base: String,
    admin: String,
    user: String,
    extranet: String,
    brief: String,
    /// Administrator webhooks with only `department`, and with only `user`.
    hook_department: String,
    hook_user: String,
    /// Administrator tokens with only `department`, and with only `user`.
    token_department: String,
    token_user: String,
    user_token: String,
    expired: String,
}

impl BitrixCallers {
    fn url(&self, caller: &str, method: &str, need: Need) -> String {
        let lacks_user = !matches!(need, Need::Department);
        let token = |t: &str| format!("{}/rest/{method}?auth={t}", self.base);
        match caller {
            "admin" => format!("{}{method}", self.admin),
            "user" => format!("{}{method}", self.user),
            "extranet" => format!("{}{method}", self.extranet),
            "user_brief" => format!("{}{method}", self.brief),
            "hook w/o scope" if lacks_user => format!("{}{method}", self.hook_department),
            "hook w/o scope" => format!("{}{method}", self.hook_user),
            "token w/o scope" if lacks_user => token(&self.token_department),
            "token w/o scope" => token(&self.token_user),
            "user token" => token(&self.user_token),
            "expired token" => token(&self.expired),
            _ => format!("{}/rest/{method}", self.base),
        }
    }
}

/// The directory of the Bitrix24 tests: ids of an ordinary user, an extranet user and a
/// victim, and the callers' credentials.
struct BitrixWorld {
    plain: i64,
    ext: i64,
    victim: i64,
    callers: BitrixCallers,
}

async fn bitrix_world(s: &Server) -> BitrixWorld {
    let plain = s.add_user("plain@example.com", json!({"NAME": "Plain"})).await;
    let victim = s.add_user("victim@example.com", json!({"NAME": "Victim"})).await;
    let ext = s
        .call("user.add", json!({"EMAIL": "ext@example.com", "NAME": "Extra", "EXTRANET": "Y", "SONET_GROUP_ID": 1}))
        .await;
    let ext = ext.ok().as_i64().expect("extranet id");
    let token = |scopes: &'static str, user: i64, ttl: i64| async move {
        common::app_tokens(&s.db_url, scopes, user, ttl).await.2.access_token
    };
    let callers = BitrixCallers {
        base: s.base.clone(),
        admin: s.hook.clone(),
        user: s.hook_for(plain, FULL_SCOPES).await,
        extranet: s.hook_for(ext, FULL_SCOPES).await,
        brief: s.hook_for(plain, "user_brief").await,
        hook_department: s.hook_for(1, "department").await,
        hook_user: s.hook_for(1, "user").await,
        token_department: token("department", 1, 3600).await,
        token_user: token("user", 1, 3600).await,
        user_token: token(FULL_SCOPES, plain, 3600).await,
        expired: token(FULL_SCOPES, 1, -60).await,
    };
    BitrixWorld { plain, ext, victim, callers }
}

/// Parameters that let the administrator's call succeed; `n` keeps names unique.
fn bitrix_params(method: &str, w: &BitrixWorld, fx: &BitrixTargets, n: usize) -> Value {
    match method {
        "user.add" => json!({"EMAIL": format!("new{n}@example.com"), "UF_DEPARTMENT": 1}),
        "user.update" => json!({"ID": w.victim, "NAME": format!("Renamed{n}")}),
        "user.get" | "user.search" => json!({"FILTER": {"ID": w.victim}}),
        "department.add" => json!({"NAME": format!("Dept {n}"), "PARENT": 1}),
        "department.update" => json!({"ID": fx.department, "NAME": format!("Dept {n}")}),
        "department.delete" => json!({"ID": fx.doomed_department}),
        "user.userfield.add" => json!({"fields": {"FIELD_NAME": format!("F{n}"), "USER_TYPE_ID": "string"}}),
        "user.userfield.update" => json!({"ID": fx.field, "fields": {"SORT": n}}),
        "user.userfield.delete" => json!({"ID": fx.doomed_field}),
        "user.userfield.file.get" => json!({"id": w.victim, "field": "UF_USR_DOC", "value": fx.file}),
        "batch" => json!({"cmd": {"t": "server.time"}}),
        "method.get" => json!({"name": "user.get"}),
        "user.access" => json!({"ACCESS": ["AU"]}),
        "event.bind" => json!({"event": "ONUSERADD", "handler": format!("http://127.0.0.1:9/h{n}")}),
        "event.unbind" => json!({"event": "ONUSERADD", "handler": "http://127.0.0.1:9/none"}),
        "event.offline.clear" | "event.offline.error" => json!({"process_id": "none", "message_id": ["1"]}),
        _ => json!({}),
    }
}

/// Things the administrator's calls change or delete.
struct BitrixTargets {
    department: i64,
    doomed_department: i64,
    field: i64,
    doomed_field: i64,
    file: i64,
}

async fn bitrix_targets(s: &Server, w: &BitrixWorld) -> BitrixTargets {
    let dept = |name: &'static str| async move {
        s.call("department.add", json!({"NAME": name, "PARENT": 1})).await.ok().as_i64().expect("department id")
    };
    let field = |name: &'static str, kind: &'static str| async move {
        let r = s.call("user.userfield.add", json!({"fields": {"FIELD_NAME": name, "USER_TYPE_ID": kind}})).await;
        r.ok().as_i64().expect("field id")
    };
    let (department, doomed_department) = (dept("Kept").await, dept("Doomed").await);
    let (f, doomed_field) = (field("KEPT", "string").await, field("DOOMED", "string").await);
    field("DOC", "file").await;
    s.update(json!({"ID": w.victim, "UF_USR_DOC": {"fileData": ["a.txt", b64(b"hello")]}})).await;
    let doc = s.call("user.get", json!({"ID": w.victim, "select": ["UF_USR_DOC"]})).await;
    let file = doc.ok()[0]["UF_USR_DOC"]["id"]
        .as_i64()
        .or_else(|| doc.ok()[0]["UF_USR_DOC"][0]["id"].as_i64())
        .unwrap_or_else(|| panic!("no file id in {}", doc.text()));
    BitrixTargets { department, doomed_department, field: f, doomed_field, file }
}

/// Asserts that `r` is the answer `cell` names for `caller`.
fn bitrix_cell(r: &Reply, cell: &str, caller: &str, what: &str) {
    let token_wording = caller.contains("token");
    let text = r.text();
    match cell {
        "ok" if r.header("content-type").starts_with("application/json") => {
            assert!(r.status == 200 && r.json.get("error").is_none() && r.json.get("time").is_some(), "{what}: {text}");
        }
        "ok" => assert_eq!(r.status, 200, "{what}: raw answer {text}"),
        "core" => r.denied(),
        "ACCESS" => assert_eq!((r.status, r.json["error"].as_str()), (403, Some("ACCESS_DENIED")), "{what}: {text}"),
        "uf" => assert_eq!(r.json, json!({"error": "", "error_description": "Access denied."}), "{what}: {text}"),
        "wrong" => {
            r.err(403, "WRONG_AUTH_TYPE", Some("Access denied! Current authorization type is denied for this method"));
        }
        "event" => {
            r.err(400, "ERROR_EVENT_NOT_FOUND", Some("Event not found"));
        }
        "scope" => {
            let by = if token_wording { "access" } else { "webhook" };
            let description = format!("The request requires higher privileges than provided by the {by} token");
            r.err(403, "insufficient_scope", Some(&description));
        }
        "bare" => assert_eq!(
            (r.status, &r.json),
            (
                200,
                &json!({"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token"})
            ),
            "{what}"
        ),
        other => panic!("unknown cell {other}"),
    }
    if cell != "ok" {
        assert_eq!(r.json.get("result"), None, "{what}: an error carries no data: {text}");
    }
}

#[tokio::test]
async fn bitrix_every_method_for_every_caller_gets_the_spec_answer() {
    let s = server().await;
    let w = bitrix_world(&s).await;
    let fx = bitrix_targets(&s, &w).await;
    let listed: Vec<&str> = BITRIX_TABLE.iter().map(|(m, _)| *m).collect();
    let served: Vec<&str> = BITRIX_METHODS.iter().map(|(m, _)| *m).collect();
    assert_eq!(listed, served, "the table must list every method of the face, in order");
    let mut n = 0;
    for ((method, cells), (_, need)) in BITRIX_TABLE.iter().zip(BITRIX_METHODS) {
        // The administrator goes last: its calls delete what the row is about.
        for (caller, cell) in BITRIX_CALLERS.iter().zip(cells).rev() {
            n += 1;
            let url = w.callers.url(caller, method, *need);
            let r = s.send(s.client().post(&url).json(&bitrix_params(method, &w, &fx, n))).await;
            bitrix_cell(&r, cell, caller, &format!("{method} as {caller}"));
        }
        let expired = s.send(s.client().post(w.callers.url("expired token", method, *need)).json(&json!({}))).await;
        expired.err(401, "expired_token", Some("The access token provided has expired"));
        let nobody = s.send(s.client().post(w.callers.url("nobody", method, *need)).json(&json!({}))).await;
        nobody.err(401, "NO_AUTH_FOUND", Some("Wrong authorization data"));
    }
    // A user may update themselves, though not another user.
    let own = format!("{}user.update", w.callers.user);
    assert_eq!(s.post_json(&own, &json!({"ID": w.plain, "NAME": "Me"})).await.ok(), &json!(true));
}

#[tokio::test]
async fn bitrix_callers_never_see_what_they_may_not() {
    let s = server().await;
    let w = bitrix_world(&s).await;
    let as_caller = |caller: &'static str, method: &'static str, params: Value| {
        let url = w.callers.url(caller, method, Need::UserRead);
        let s = &s;
        async move { s.send(s.client().post(url).json(&params)).await }
    };
    let everyone = [1, w.plain, w.victim];
    // Ordinary users (webhook or token) never get extranet users, whatever they ask.
    for caller in ["user", "user token"] {
        for params in [
            json!({}),
            json!({"ADMIN_MODE": "Y"}),
            json!({"ID": w.ext}),
            json!({"FILTER": {"USER_TYPE": "extranet"}, "ADMIN_MODE": true}),
        ] {
            let ids = as_caller(caller, "user.get", params.clone()).await.ids();
            assert!(!ids.contains(&w.ext), "{caller} user.get {params} shows the extranet user: {ids:?}");
        }
        assert_eq!(as_caller(caller, "user.get", json!({})).await.ids(), everyone);
        assert_eq!(as_caller(caller, "user.search", json!({"FIND": "Extra"})).await.ids(), Vec::<i64>::new());
        let batch = as_caller(caller, "batch", json!({"cmd": [format!("user.get?ID={}", w.ext)]})).await;
        assert_eq!(batch.ok()["result"], json!([[]]), "{}", batch.text());
    }
    // The extranet user sees only itself; the administrator sees it with ADMIN_MODE only.
    assert_eq!(as_caller("extranet", "user.get", json!({})).await.ids(), vec![w.ext]);
    assert_eq!(as_caller("extranet", "user.get", json!({"ID": 1})).await.ids(), Vec::<i64>::new());
    assert_eq!(as_caller("admin", "user.get", json!({})).await.ids(), everyone);
    assert!(as_caller("admin", "user.get", json!({"ADMIN_MODE": "Y"})).await.ids().contains(&w.ext));
    // user_brief never shows EMAIL, and cannot use it as an oracle in a filter.
    for (method, params) in [
        ("user.get", json!({})),
        ("user.get", json!({"select": ["EMAIL", "*"]})),
        ("user.search", json!({"FIND": "Victim"})),
        ("user.current", json!({})),
        ("batch", json!({"cmd": ["user.get?select[]=EMAIL", "user.current"]})),
    ] {
        let r = as_caller("user_brief", method, params).await;
        assert!(!r.text().contains("EMAIL") && !r.text().contains("@example.com"), "{method}: {}", r.text());
    }
    let filtered = as_caller("user_brief", "user.get", json!({"FILTER": {"EMAIL": "victim@example.com"}})).await;
    assert_eq!(filtered.ids(), everyone, "an EMAIL filter under user_brief must be ignored");
    // Updating another user is refused and changes nothing.
    let r = as_caller("user", "user.update", json!({"ID": w.victim, "NAME": "Hacked", "ACTIVE": "N"})).await;
    r.denied();
    let victim = s.user(w.victim).await;
    assert_eq!((victim["NAME"].as_str(), &victim["ACTIVE"]), (Some("Victim"), &json!(true)));
}

// ---------------------------------------------------------------------------------------
// Zabbix

/// The callers of the Zabbix table, in column order (the super admin last: its calls
/// delete what a row is about).
const ZABBIX_CALLERS: [&str; 4] = ["user token", "user", "admin", "super admin"];

/// Expected answers (zabbix.md §2-3): `ok` a result; `call` -32602 `No permissions to call
/// "method".` (user type below the method's minimum); `object` -32500 `No permissions to
/// referred object or it does not exist!` (types 1 and 2 act only on themselves); `auth`
/// -32602 for a method that must be called without `auth`. `user.update`, `token.*` and
/// `user.delete` target another user's objects.
const ZABBIX_TABLE: &[(&str, [&str; 4])] = &[
    ("apiinfo.version", ["auth", "auth", "auth", "auth"]),
    ("user.login", ["auth", "auth", "auth", "auth"]),
    ("user.checkauthentication", ["auth", "auth", "auth", "auth"]),
    ("user.logout", ["ok", "ok", "ok", "ok"]),
    ("user.get", ["ok", "ok", "ok", "ok"]),
    ("user.create", ["call", "call", "call", "ok"]),
    ("user.update", ["object", "object", "object", "ok"]),
    ("user.delete", ["call", "call", "call", "ok"]),
    ("user.unblock", ["call", "call", "call", "ok"]),
    ("usergroup.get", ["ok", "ok", "ok", "ok"]),
    ("usergroup.create", ["call", "call", "call", "ok"]),
    ("usergroup.update", ["call", "call", "call", "ok"]),
    ("usergroup.delete", ["call", "call", "call", "ok"]),
    ("role.get", ["ok", "ok", "ok", "ok"]),
    ("mediatype.get", ["ok", "ok", "ok", "ok"]),
    ("authentication.get", ["call", "call", "call", "ok"]),
    ("authentication.update", ["call", "call", "call", "ok"]),
    ("token.create", ["ok", "ok", "ok", "ok"]),
    ("token.get", ["ok", "ok", "ok", "ok"]),
    ("token.update", ["object", "object", "object", "ok"]),
    ("token.delete", ["object", "object", "object", "ok"]),
    ("token.generate", ["object", "object", "object", "ok"]),
    ("auditlog.get", ["call", "call", "call", "ok"]),
];

/// Sessions, tokens and the objects the super admin's calls change.
struct ZabbixWorld {
    super_admin: String,
    admin: String,
    user: String,
    user_token: String,
    expired_token: String,
    user_id: i64,
    victim: i64,
    doomed_user: i64,
    doomed_group: String,
    group: String,
    /// The super admin's tokens: one to update, one to generate, one to delete.
    tokens: [String; 3],
}

async fn zabbix_world(s: &Server) -> ZabbixWorld {
    let sa = s.zabbix_login("Admin", common::ADMIN_PASSWORD).await;
    let victim = s.zabbix_user(&sa, "victim", PASSWORD, "1", &["13"]).await;
    let doomed_user = s.zabbix_user(&sa, "doomed", PASSWORD, "1", &["13"]).await;
    s.zabbix_user(&sa, "zadmin", PASSWORD, "2", &["13"]).await;
    let user_id = s.zabbix_user(&sa, "zuser", PASSWORD, "1", &["13"]).await;
    let user = s.zabbix_login("zuser", PASSWORD).await;
    let token_of = |sid: String, name: &'static str, extra: Value| async move {
        let mut params = json!({"name": name});
        for (k, v) in extra.as_object().into_iter().flatten() {
            params[k] = v.clone();
        }
        let id =
            s.zabbix_ok("token.create", params, Some(&sid)).await["tokenids"][0].as_str().expect("tokenid").to_owned();
        let token = s.zabbix_ok("token.generate", json!([id]), Some(&sid)).await;
        (id, token[0]["token"].as_str().expect("token").to_owned())
    };
    let sa_ref: &str = &sa;
    let group = |name: &'static str| async move {
        let r = s.zabbix_ok("usergroup.create", json!({"name": name}), Some(sa_ref)).await;
        r["usrgrpids"][0].as_str().expect("group id").to_owned()
    };
    ZabbixWorld {
        admin: s.zabbix_login("zadmin", PASSWORD).await,
        user_token: token_of(user.clone(), "mine", json!({})).await.1,
        expired_token: token_of(user.clone(), "old", json!({"expires_at": 1000})).await.1,
        user,
        user_id,
        victim,
        doomed_user,
        doomed_group: group("doomed").await,
        group: group("kept").await,
        tokens: [
            token_of(sa.clone(), "a", json!({})).await.0,
            token_of(sa.clone(), "b", json!({})).await.0,
            token_of(sa.clone(), "c", json!({})).await.0,
        ],
        super_admin: sa,
    }
}

fn zabbix_params(method: &str, w: &ZabbixWorld, n: usize) -> Value {
    match method {
        "user.login" => json!({"username": "zuser", "password": PASSWORD}),
        "user.checkauthentication" => json!({"sessionid": w.user}),
        "user.get" => json!({"output": ["userid"]}),
        "user.create" => {
            json!({"username": format!("new{n}"), "passwd": PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": "13"}]})
        }
        "user.update" => json!({"userid": w.victim.to_string(), "name": format!("Renamed{n}")}),
        "user.delete" => json!([w.doomed_user.to_string()]),
        "user.unblock" => json!([w.victim.to_string()]),
        "usergroup.create" => json!({"name": format!("group{n}")}),
        "usergroup.update" => json!({"usrgrpid": w.group, "name": format!("group{n}")}),
        "usergroup.delete" => json!([w.doomed_group]),
        "authentication.update" => json!({"passwd_min_length": 8}),
        "token.create" => json!({"name": format!("token{n}")}),
        "token.update" => json!({"tokenid": w.tokens[0], "name": format!("token{n}")}),
        "token.generate" => json!([w.tokens[1]]),
        "token.delete" => json!([w.tokens[2]]),
        _ => json!({}),
    }
}

/// Asserts that `r` is the answer `cell` names for `method`.
fn zabbix_cell(r: &Reply, cell: &str, method: &str, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    let (code, data) = (&r.json["error"]["code"], r.json["error"]["data"].as_str().unwrap_or(""));
    match cell {
        "ok" => assert!(r.json.get("result").is_some() && r.json.get("error").is_none(), "{what}: {}", r.text()),
        "call" => assert_eq!(
            (code, data),
            (&json!(-32602), format!("No permissions to call \"{method}\".").as_str()),
            "{what}"
        ),
        "object" => assert_eq!(
            (code, data),
            (&json!(-32500), "No permissions to referred object or it does not exist!"),
            "{what}"
        ),
        "auth" => assert_eq!(
            (code, data),
            (
                &json!(-32602),
                format!("The \"{method}\" method must be called without the \"auth\" parameter.").as_str()
            ),
            "{what}"
        ),
        other => panic!("unknown cell {other}"),
    }
}

#[tokio::test]
async fn zabbix_every_method_for_every_caller_gets_the_spec_answer() {
    let s = server().await;
    let w = zabbix_world(&s).await;
    let listed: Vec<&str> = ZABBIX_TABLE.iter().map(|(m, _)| *m).collect();
    let served: Vec<&str> = ZABBIX_METHODS.iter().map(|d| d.name).collect();
    assert_eq!(listed, served, "the table must list every method of the face, in order");
    // user.logout last: it ends the sessions every other row uses.
    let mut rows: Vec<&(&str, [&str; 4])> = ZABBIX_TABLE.iter().filter(|(m, _)| *m != "user.logout").collect();
    rows.extend(ZABBIX_TABLE.iter().filter(|(m, _)| *m == "user.logout"));
    let mut n = 0;
    for (method, cells) in rows {
        let def = ZABBIX_METHODS.iter().find(|d| d.name == *method).expect("method");
        for (caller, cell) in ZABBIX_CALLERS.iter().zip(cells) {
            n += 1;
            let auth = match *caller {
                "user token" => &w.user_token,
                "user" => &w.user,
                "admin" => &w.admin,
                _ => &w.super_admin,
            };
            let r = s.zabbix(method, zabbix_params(method, &w, n), Some(auth)).await;
            zabbix_cell(&r, cell, method, &format!("{method} as {caller}"));
        }
        let expect = |r: Reply, code: i64, data: &str, who: &str| {
            assert_eq!(
                (&r.json["error"]["code"], r.json["error"]["data"].as_str()),
                (&json!(code), Some(data)),
                "{method} {who}: {}",
                r.text()
            );
        };
        if def.auth {
            expect(
                s.zabbix(method, json!({}), Some(&w.expired_token)).await,
                -32500,
                "API token expired.",
                "with an expired token",
            );
            expect(
                s.zabbix(method, json!({}), Some(&"0".repeat(32))).await,
                -32602,
                "Session terminated, re-login, please.",
                "with an unknown session",
            );
            expect(s.zabbix(method, json!({}), None).await, -32602, "Not authorized.", "without auth");
        } else {
            let r = s.zabbix(method, zabbix_params(method, &w, n), None).await;
            zabbix_cell(&r, "ok", method, &format!("{method} without auth"));
        }
    }
}

#[tokio::test]
async fn zabbix_users_see_only_their_groups_and_change_only_themselves() {
    let s = server().await;
    let w = zabbix_world(&s).await;
    let hidden = s.zabbix_user(&w.super_admin, "hidden", PASSWORD, "1", &["12"]).await;
    let names = |r: Value| -> Vec<String> {
        r.as_array().into_iter().flatten().filter_map(|u| u["username"].as_str().map(str::to_owned)).collect()
    };
    for (who, auth) in [("user", &w.user), ("user token", &w.user_token), ("admin", &w.admin)] {
        let seen = names(s.zabbix_ok("user.get", json!({"output": ["username"]}), Some(auth)).await);
        assert!(!seen.contains(&"hidden".to_owned()), "{who} sees a user sharing no group: {seen:?}");
        assert!(seen.contains(&"victim".to_owned()), "{who} misses a user of its group: {seen:?}");
        let asked = s.zabbix_ok("user.get", json!({"output": ["username"], "userids": [hidden]}), Some(auth)).await;
        assert_eq!(asked, json!([]), "{who} asked for the hidden user by id");
        let r = s
            .zabbix(
                "user.update",
                json!({"userid": w.victim.to_string(), "name": "Hacked", "passwd": "Other-Pass-2024!"}),
                Some(auth),
            )
            .await;
        zabbix_cell(&r, "object", "user.update", &format!("{who} updating another user"));
    }
    let own = s.zabbix_ok("user.get", json!({"output": ["username"], "editable": true}), Some(&w.user)).await;
    assert_eq!(names(own), vec!["zuser"]);
    s.zabbix_ok("user.update", json!({"userid": w.user_id.to_string(), "name": "Me"}), Some(&w.user)).await;
    // The super admin sees everyone, and the victim is unchanged (its password too).
    let all = names(s.zabbix_ok("user.get", json!({"output": ["username"]}), Some(&w.super_admin)).await);
    assert!(all.contains(&"hidden".to_owned()), "{all:?}");
    let victim =
        s.zabbix_ok("user.get", json!({"userids": [w.victim], "output": ["name"]}), Some(&w.super_admin)).await;
    assert_ne!(victim[0]["name"], "Hacked");
    s.zabbix_login("victim", PASSWORD).await;
    // Nor through the other face: a Zabbix user has no Bitrix24 rights over the victim.
    let (_, hook) = (w.user_id, s.hook_for(w.user_id, "user").await);
    s.call_as(&hook, "user.update", json!({"ID": w.victim, "NAME": "Hacked"})).await.denied();
}
