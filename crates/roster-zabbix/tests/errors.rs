//! Every error text of spec sections 2-7, table-driven: one row per text, request in,
//! exact `{code, data}` out, run against the 6.0 profile and, for the texts that 7.0
//! changes, against the 7.0 profile. Rows are checked in order on one server; none of
//! them writes (a failed call changes nothing), so each row sees the same directory.

mod common;

use serde_json::{json, Value};

const PERM: &str = "No permissions to referred object or it does not exist!";
const LOGIN_FAILED: &str = "Incorrect user name or password or account is temporarily blocked.";

/// Who calls.
#[derive(Clone, Copy)]
enum Who {
    Nobody,
    Admin,
    /// `ann`: User role, group Internal.
    Ann,
    /// A fixed string as `auth`.
    Raw(&'static str),
}

struct Row {
    name: &'static str,
    who: Who,
    method: &'static str,
    params: Value,
    code: i64,
    data: String,
}

fn row(name: &'static str, who: Who, method: &'static str, params: Value, code: i64, data: &str) -> Row {
    Row { name, who, method, params, code, data: data.to_owned() }
}

/// Texts of sections 2-7 that 6.0 and 7.0 share.
fn common_rows() -> Vec<Row> {
    use Who::*;
    let upd = |p: Value| p;
    let long = "x".repeat(101);
    let mut emails: Vec<String> = (0..15).map(|i| format!("{}{i}@example.com", "a".repeat(60))).collect();
    emails.sort();
    vec![
        // Section 2: authentication and methods.
        row("no auth", Nobody, "user.get", json!({}), -32602, "Not authorized."),
        row("login with auth", Admin, "user.login", json!({"username": "a", "password": "b"}), -32602, "The \"user.login\" method must be called without the \"auth\" parameter."),
        row("apiinfo with auth", Admin, "apiinfo.version", json!([]), -32602, "The \"apiinfo.version\" method must be called without the \"auth\" parameter."),
        row("checkAuthentication with auth", Admin, "user.checkAuthentication", json!({"sessionid": "x"}), -32602, "The \"user.checkauthentication\" method must be called without the \"auth\" parameter."),
        row("unknown API", Nobody, "foo.get", json!({}), -32601, "Incorrect API \"foo\"."),
        row("unknown method", Admin, "user.frobnicate", json!({}), -32601, "Incorrect method \"user.frobnicate\"."),
        row("method without a dot", Nobody, "user", json!({}), -32601, "Incorrect method \"user.\"."),
        row("unknown session", Raw("0123456789abcdef0123456789abcdef"), "user.get", json!({}), -32602, "Session terminated, re-login, please."),
        row("unknown token", Raw("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "user.get", json!({}), -32602, "Not authorized."),
        row("type 1 creates", Ann, "user.create", json!({"username": "zz", "roleid": 1, "usrgrps": [{"usrgrpid": 13}]}), -32602, "No permissions to call \"user.create\"."),
        row("type 1 deletes", Ann, "user.delete", json!(["$BOB"]), -32602, "No permissions to call \"user.delete\"."),
        row("type 1 unblocks", Ann, "user.unblock", json!(["$BOB"]), -32602, "No permissions to call \"user.unblock\"."),
        row("apiinfo with params", Nobody, "apiinfo.version", json!({"x": 1}), -32602, "Invalid parameter \"/\": unexpected parameter \"x\"."),
        // Sections 3-4: user.update.
        row("type 1 updates another", Ann, "user.update", upd(json!({"userid": "$BOB", "name": "x"})), -32500, PERM),
        row("unknown user", Admin, "user.update", json!({"userid": "999999", "name": "x"}), -32500, PERM),
        row("empty object", Admin, "user.update", json!({}), -32602, "Invalid parameter \"/1\": the parameter \"userid\" is missing."),
        row("empty list", Admin, "user.update", json!([]), -32602, "Invalid parameter \"/1\": the parameter \"userid\" is missing."),
        row("unexpected member first", Admin, "user.update", json!({"name": 5, "userid": "$ANN", "foo": 1}), -32602, "Invalid parameter \"/1\": unexpected parameter \"foo\"."),
        row("read-only member", Admin, "user.update", json!({"userid": "$ANN", "attempt_failed": 0}), -32602, "Invalid parameter \"/1\": unexpected parameter \"attempt_failed\"."),
        row("userid -1", Admin, "user.update", json!({"userid": -1}), -32602, "Invalid parameter \"/1/userid\": a number is expected."),
        row("userid 1.5", Admin, "user.update", json!({"userid": 1.5}), -32602, "Invalid parameter \"/1/userid\": a number is expected."),
        row("userid true", Admin, "user.update", json!({"userid": true}), -32602, "Invalid parameter \"/1/userid\": a number is expected."),
        row("userid abc", Admin, "user.update", json!({"userid": "abc"}), -32602, "Invalid parameter \"/1/userid\": a number is expected."),
        row("userid too large", Admin, "user.update", json!({"userid": "9223372036854775808"}), -32602, "Invalid parameter \"/1/userid\": a number is too large."),
        row("rule order, not request order", Admin, "user.update", json!({"theme": "pink", "name": 5, "userid": "$ANN"}), -32602, "Invalid parameter \"/1/name\": a character string is expected."),
        row("empty username", Admin, "user.update", json!({"userid": "$ANN", "username": ""}), -32602, "Invalid parameter \"/1/username\": cannot be empty."),
        Row { name: "long username", who: Admin, method: "user.update", params: json!({"userid": "$ANN", "username": long}), code: -32602, data: "Invalid parameter \"/1/username\": value is too long.".into() },
        row("empty passwd", Admin, "user.update", json!({"userid": "$ANN", "passwd": ""}), -32602, "Invalid parameter \"/1/passwd\": cannot be empty."),
        Row { name: "long passwd", who: Admin, method: "user.update", params: json!({"userid": "$ANN", "passwd": "Ab1!".repeat(64)}), code: -32602, data: "Invalid parameter \"/1/passwd\": value is too long.".into() },
        row("passwd not a string", Admin, "user.update", json!({"userid": "$ANN", "passwd": 12345678}), -32602, "Invalid parameter \"/1/passwd\": a character string is expected."),
        row("bad url", Admin, "user.update", json!({"userid": "$ANN", "url": "javascript:alert(1)"}), -32602, "Invalid parameter \"/1/url\": unacceptable URL."),
        row("autologin 2", Admin, "user.update", json!({"userid": "$ANN", "autologin": 2}), -32602, "Invalid parameter \"/1/autologin\": value must be one of 0, 1."),
        row("autologin text", Admin, "user.update", json!({"userid": "$ANN", "autologin": "x"}), -32602, "Invalid parameter \"/1/autologin\": an integer is expected."),
        row("autologout 1m", Admin, "user.update", json!({"userid": "$ANN", "autologout": "1m"}), -32602, "Invalid parameter \"/1/autologout\": value must be one of 0, 90-86400."),
        row("autologout abc", Admin, "user.update", json!({"userid": "$ANN", "autologout": "abc"}), -32602, "Invalid parameter \"/1/autologout\": a time unit is expected."),
        row("refresh 2h", Admin, "user.update", json!({"userid": "$ANN", "refresh": "2h"}), -32602, "Invalid parameter \"/1/refresh\": value must be one of 0-3600."),
        row("theme", Admin, "user.update", json!({"userid": "$ANN", "theme": "pink"}), -32602, "Invalid parameter \"/1/theme\": value must be one of \"default\", \"blue-theme\", \"dark-theme\", \"hc-light\", \"hc-dark\"."),
        row("rows_per_page 0", Admin, "user.update", json!({"userid": "$ANN", "rows_per_page": 0}), -32602, "Invalid parameter \"/1/rows_per_page\": value must be one of 1-999999."),
        row("roleid abc", Admin, "user.update", json!({"userid": "$ANN", "roleid": "abc"}), -32602, "Invalid parameter \"/1/roleid\": a number is expected."),
        row("usrgrps as an object", Admin, "user.update", json!({"userid": "$ANN", "usrgrps": {"usrgrpid": "7"}}), -32602, "Invalid parameter \"/1/usrgrps/1\": an array is expected."),
        row("usrgrps duplicate", Admin, "user.update", json!({"userid": "$ANN", "usrgrps": [{"usrgrpid": 13}, {"usrgrpid": "13"}]}), -32602, "Invalid parameter \"/1/usrgrps/2\": value (usrgrpid)=(13) already exists."),
        row("media without type", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"sendto": "a@b.c"}]}), -32602, "Invalid parameter \"/1/medias/1\": the parameter \"mediatypeid\" is missing."),
        row("media with mediaid", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediaid": 1, "mediatypeid": 1, "sendto": "a@b.c"}]}), -32602, "Invalid parameter \"/1/medias/1\": unexpected parameter \"mediaid\"."),
        row("media empty sendto list", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": []}]}), -32602, "Invalid parameter \"/1/medias/1/sendto\": cannot be empty."),
        row("media severity 64", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": "a@b.c", "severity": 64}]}), -32602, "Invalid parameter \"/1/medias/1/severity\": value must be one of 0-63."),
        row("media active 2", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": "a@b.c", "active": 2}]}), -32602, "Invalid parameter \"/1/medias/1/active\": value must be one of 0, 1."),
        row("media period", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": "a@b.c", "period": "8,00:00-24:00"}]}), -32602, "Invalid parameter \"/1/medias/1/period\": a time period is expected."),
        row("userid twice", Admin, "user.update", json!([{"userid": "$ANN"}, {"userid": "$ANN"}]), -32602, "Invalid parameter \"/2\": value (userid)=($ANN) already exists."),
        row("username twice", Admin, "user.update", json!([{"userid": "$ANN", "username": "q"}, {"userid": "$BOB", "username": "q"}]), -32602, "Invalid parameter \"/2\": value (username)=(q) already exists."),
        row("rename guest", Admin, "user.update", json!({"userid": "2", "username": "visitor"}), -32602, "Cannot rename guest user."),
        row("autologin with autologout", Admin, "user.update", json!({"userid": "$ANN", "autologin": 1, "autologout": "90"}), -32602, "Auto-login and auto-logout options cannot be enabled together."),
        row("short password", Admin, "user.update", json!({"userid": "$ANN", "passwd": "short"}), -32602, "Incorrect value for field \"/1/passwd\": must be at least 8 characters long."),
        row("password with the name", Admin, "user.update", json!({"userid": "$ANN", "passwd": "Lee-Lee-Lee-123"}), -32602, "Incorrect value for field \"/1/passwd\": must not contain user's name, surname or username."),
        row("common password", Admin, "user.update", json!({"userid": "$ANN", "passwd": "12345678"}), -32602, "Incorrect value for field \"/1/passwd\": must not be one of common or context-specific passwords."),
        row("policy reports the index", Admin, "user.update", json!([{"userid": "$BOB"}, {"userid": "$ANN", "passwd": "short"}]), -32602, "Incorrect value for field \"/2/passwd\": must be at least 8 characters long."),
        row("guest password", Admin, "user.update", json!({"userid": "2", "passwd": "Str0ng-Pass-Visit"}), -32602, "Not allowed to set password for user \"guest\"."),
        row("guest language", Admin, "user.update", json!({"userid": "2", "lang": "en_US"}), -32602, "Not allowed to set language for user \"guest\"."),
        row("guest theme", Admin, "user.update", json!({"userid": "2", "theme": "dark-theme"}), -32602, "Not allowed to set theme for user \"guest\"."),
        row("last super admin", Admin, "user.update", json!({"userid": "1", "roleid": "1"}), -32602, "At least one active user must exist with role \"Super admin role\"."),
        row("username taken", Admin, "user.update", json!({"userid": "$ANN", "username": "Admin"}), -32602, "User with username \"Admin\" already exists."),
        row("language not installed", Admin, "user.update", json!({"userid": "$ANN", "lang": "de_DE"}), -32602, "Language \"de_DE\" is not supported."),
        row("unknown media type", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 999, "sendto": "x"}]}), -32602, "Media type with ID \"999\" is not available."),
        row("SMS with two recipients", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 3, "sendto": ["1", "2"]}]}), -32602, "Invalid parameter \"sendto\": a character string is expected."),
        row("empty recipient", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 3, "sendto": [""]}]}), -32602, "Invalid parameter \"sendto\": cannot be empty."),
        row("bad e-mail", Admin, "user.update", json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": ["not-an-address"]}]}), -32602, "Invalid email address for media type with ID \"1\"."),
        Row { name: "e-mails too long", who: Admin, method: "user.update", params: json!({"userid": "$ANN", "medias": [{"mediatypeid": 1, "sendto": emails}]}), code: -32602, data: "Maximum total length of email address exceeded for media type with ID \"1\".".into() },
        row("own role", Ann, "user.update", json!({"userid": "$ANN", "roleid": "2"}), -32602, "User cannot change own role."),
        row("own disabled group", Ann, "user.update", json!({"userid": "$ANN", "usrgrps": [{"usrgrpid": 9}]}), -32602, "User cannot add himself to a disabled group or a group with disabled GUI access."),
        row("own no-frontend group", Ann, "user.update", json!({"userid": "$ANN", "usrgrps": [{"usrgrpid": 12}]}), -32602, "User cannot add himself to a disabled group or a group with disabled GUI access."),
        // Section 5.2: user.create.
        row("create without username", Admin, "user.create", json!({"roleid": 1, "usrgrps": [{"usrgrpid": 13}]}), -32602, "Invalid parameter \"/1\": the parameter \"username\" is missing."),
        row("create with userid", Admin, "user.create", json!({"userid": 5, "username": "x"}), -32602, "Invalid parameter \"/1\": unexpected parameter \"userid\"."),
        row("create existing username", Admin, "user.create", json!({"username": "Admin", "passwd": "Str0ng-Pass-Zz", "roleid": 1, "usrgrps": [{"usrgrpid": 13}]}), -32602, "User with username \"Admin\" already exists."),
        row("create username twice", Admin, "user.create", json!([{"username": "q1", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]}, {"username": "q1", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]}]), -32602, "Invalid parameter \"/2\": value (username)=(q1) already exists."),
        row("create policy uses the request", Admin, "user.create", json!({"username": "zed", "name": "Zed", "passwd": "zed-and-more-9", "roleid": 1, "usrgrps": [{"usrgrpid": 13}]}), -32602, "Incorrect value for field \"/1/passwd\": must not contain user's name, surname or username."),
        // Section 7: login, logout, get, delete.
        row("login unknown user", Nobody, "user.login", json!({"username": "nobody-here", "password": "x"}), -32602, LOGIN_FAILED),
        row("login without username", Nobody, "user.login", json!({"password": "x"}), -32602, "Invalid parameter \"/\": the parameter \"username\" is missing."),
        row("login unexpected", Nobody, "user.login", json!({"username": "a", "password": "b", "x": 1}), -32602, "Invalid parameter \"/\": unexpected parameter \"x\"."),
        row("login userData not a flag", Nobody, "user.login", json!({"username": "a", "password": "b", "userData": "yes"}), -32602, "Invalid parameter \"/userData\": a boolean is expected."),
        row("login disabled group", Nobody, "user.login", json!({"username": "guest", "password": ""}), -32602, "No permissions for system access."),
        row("logout with params", Admin, "user.logout", json!({"x": 1}), -32602, "Invalid parameter \"/\": should be empty."),
        row("filter by password", Admin, "user.get", json!({"filter": {"passwd": "x"}}), -32602, "It is not possible to filter by user password."),
        row("search by password", Admin, "user.get", json!({"search": {"passwd": "x"}}), -32602, "It is not possible to search by user password."),
        row("sort by name", Admin, "user.get", json!({"sortfield": "name"}), -32500, "Sorting by field \"name\" not allowed."),
        row("delete nothing", Admin, "user.delete", json!([]), -32602, "Invalid parameter \"/\": cannot be empty."),
        row("delete a word", Admin, "user.delete", json!(["abc"]), -32602, "Invalid parameter \"/1\": a number is expected."),
        row("delete twice", Admin, "user.delete", json!(["$BOB", "$BOB"]), -32602, "Invalid parameter \"/2\": value ($BOB) already exists."),
        row("delete oneself", Admin, "user.delete", json!(["1"]), -32602, "User is not allowed to delete himself."),
        row("delete guest", Admin, "user.delete", json!(["2"]), -32602, "Cannot delete Zabbix internal user \"guest\", try disabling that user."),
        row("delete unknown", Admin, "user.delete", json!(["999999"]), -32500, PERM),
        row("check unknown session", Nobody, "user.checkAuthentication", json!({"sessionid": "0123456789abcdef0123456789abcdef"}), -32602, "Session terminated, re-login, please."),
        // Section 6: policy settings.
        row("policy length range", Admin, "authentication.update", json!({"passwd_min_length": 71}), -32602, "Invalid parameter \"/passwd_min_length\": value must be one of 1-70."),
        row("policy rules range", Admin, "authentication.update", json!({"passwd_check_rules": 16}), -32602, "Invalid parameter \"/passwd_check_rules\": value must be one of 0-15."),
    ]
}

/// Texts only 6.0 has.
fn v60_rows() -> Vec<Row> {
    use Who::*;
    vec![
        row(
            "alias and username",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "alias": "a", "username": "b"}),
            -32602,
            "Parameter \"alias\" is deprecated.",
        ),
        row(
            "medias and user_medias",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "medias": [], "user_medias": []}),
            -32602,
            "Parameter \"user_medias\" is deprecated.",
        ),
        row(
            "current_passwd unknown",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "current_passwd": "x"}),
            -32602,
            "Invalid parameter \"/1\": unexpected parameter \"current_passwd\".",
        ),
        row(
            "empty usrgrps",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "usrgrps": []}),
            -32602,
            "Invalid parameter \"/1/usrgrps\": cannot be empty.",
        ),
        row(
            "unknown role",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "roleid": "999"}),
            -32602,
            "User role with ID \"999\" is not available.",
        ),
        row(
            "unknown group",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "usrgrps": [{"usrgrpid": 99999}]}),
            -32602,
            "User group with ID \"99999\" is not available.",
        ),
        row(
            "empty password, internal group",
            Admin,
            "user.update",
            json!({"userid": "$BOB", "usrgrps": [{"usrgrpid": 13}]}),
            -32602,
            "Incorrect value for field \"passwd\": cannot be empty.",
        ),
        row(
            "create without roleid",
            Admin,
            "user.create",
            json!({"username": "x", "usrgrps": [{"usrgrpid": 12}]}),
            -32602,
            "Invalid parameter \"/1\": the parameter \"roleid\" is missing.",
        ),
        row(
            "create without usrgrps",
            Admin,
            "user.create",
            json!({"username": "x", "roleid": 1}),
            -32602,
            "Invalid parameter \"/1\": the parameter \"usrgrps\" is missing.",
        ),
        row(
            "login user and username",
            Nobody,
            "user.login",
            json!({"user": "a", "username": "a", "password": "b"}),
            -32602,
            "Parameter \"user\" is deprecated.",
        ),
        // 6.0 ignores the Bearer header and has no token in checkAuthentication.
        row(
            "checkAuthentication token",
            Nobody,
            "user.checkAuthentication",
            json!({"token": "x"}),
            -32602,
            "Invalid parameter \"/\": unexpected parameter \"token\".",
        ),
    ]
}

/// What 7.0 says instead, and its new texts.
fn v70_rows() -> Vec<Row> {
    use Who::*;
    vec![
        row(
            "alias is gone",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "alias": "a"}),
            -32602,
            "Invalid parameter \"/1\": unexpected parameter \"alias\".",
        ),
        row(
            "user_medias is gone",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "user_medias": []}),
            -32602,
            "Invalid parameter \"/1\": unexpected parameter \"user_medias\".",
        ),
        row(
            "own password without current",
            Ann,
            "user.update",
            json!({"userid": "$ANN", "passwd": "N3w-Secret-Pass"}),
            -32602,
            "Current password is mandatory.",
        ),
        row(
            "own password, wrong current",
            Ann,
            "user.update",
            json!({"userid": "$ANN", "passwd": "N3w-Secret-Pass", "current_passwd": "wrong"}),
            -32602,
            "Incorrect current password.",
        ),
        row(
            "unknown role",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "roleid": "999"}),
            -32602,
            "Invalid parameter \"/1/roleid\": object does not exist.",
        ),
        row(
            "unknown group",
            Admin,
            "user.update",
            json!({"userid": "$ANN", "usrgrps": [{"usrgrpid": 99999}]}),
            -32602,
            "Invalid parameter \"/1/usrgrps/1\": object does not exist.",
        ),
        row(
            "empty password, internal group",
            Admin,
            "user.update",
            json!({"userid": "$BOB", "usrgrps": [{"usrgrpid": 13}]}),
            -32602,
            "User \"bob\" must have a password, because internal authentication is in effect.",
        ),
        row(
            "login user is gone",
            Nobody,
            "user.login",
            json!({"user": "a", "password": "b"}),
            -32602,
            "Invalid parameter \"/\": unexpected parameter \"user\".",
        ),
        row(
            "checkAuthentication nothing",
            Nobody,
            "user.checkAuthentication",
            json!({}),
            -32602,
            "Session ID or token is expected.",
        ),
    ]
}

struct Fixture {
    s: common::Server,
    admin: String,
    ann: String,
    ann_id: String,
    bob_id: String,
}

async fn fixture(version: &str) -> Fixture {
    let s = common::start(version).await;
    let admin = s.admin().await;
    let ann_id = s.create_user(&admin, common::user_params("ann", "Qx-Secret-42x")).await;
    // bob has no password and a group without frontend access.
    let bob_id = s.create_user(&admin, json!({"username": "bob", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]})).await;
    let ann = s.login("ann", "Qx-Secret-42x").await;
    Fixture { s, admin, ann, ann_id, bob_id }
}

async fn check(f: &Fixture, rows: Vec<Row>) {
    let mut failures = Vec::new();
    for r in rows {
        let params: Value =
            serde_json::from_str(&r.params.to_string().replace("$ANN", &f.ann_id).replace("$BOB", &f.bob_id))
                .expect("params");
        let data = r.data.replace("$ANN", &f.ann_id).replace("$BOB", &f.bob_id);
        let auth = match r.who {
            Who::Nobody => None,
            Who::Admin => Some(f.admin.as_str()),
            Who::Ann => Some(f.ann.as_str()),
            Who::Raw(s) => Some(s),
        };
        let answer = f.s.call(r.method, params, auth).await;
        let got = (answer["error"]["code"].as_i64(), answer["error"]["data"].as_str().map(str::to_owned));
        if got != (Some(r.code), Some(data.clone())) {
            failures.push(format!("{}: expected ({}, {data:?}), got {answer}", r.name, r.code));
        }
        let message = match r.code {
            -32700 => "Parse error",
            -32600 => "Invalid request.",
            -32601 => "Method not found.",
            -32602 => "Invalid params.",
            _ => "Application error.",
        };
        if answer["error"]["message"] != message {
            failures.push(format!("{}: message {}", r.name, answer["error"]["message"]));
        }
    }
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn every_error_text_of_zabbix_6_0() {
    let f = fixture("6.0.14").await;
    let mut rows = common_rows();
    rows.extend(v60_rows());
    check(&f, rows).await;
    f.s.stop().await;
}

#[tokio::test]
async fn every_error_text_of_zabbix_7_0() {
    let f = fixture("7.0.0").await;
    let mut rows = common_rows();
    rows.extend(v70_rows());
    check(&f, rows).await;
    f.s.stop().await;
}

#[tokio::test]
async fn validator_lists_for_lang_and_timezone() {
    let f = fixture("6.0.14").await;
    let (code, data) = f.s.err("user.update", json!({"userid": f.ann_id, "lang": "xx_XX"}), Some(&f.admin)).await;
    assert_eq!(code, -32602);
    assert!(
        data.starts_with("Invalid parameter \"/1/lang\": value must be one of \"default\", \"en_GB\", \"en_US\", "),
        "{data}"
    );
    assert!(data.ends_with("\"vi_VN\"."), "{data}");
    let (_, data) = f.s.err("user.update", json!({"userid": f.ann_id, "timezone": "Mars/Base"}), Some(&f.admin)).await;
    assert!(data.starts_with("Invalid parameter \"/1/timezone\": value must be one of \"default\", "), "{data}");
    assert!(data.contains("\"Europe/Riga\"") && data.contains("\"UTC\""), "{data}");
    f.s.stop().await;
}

#[tokio::test]
async fn password_rules_in_order() {
    let f = fixture("6.0.14").await;
    f.s.ok("authentication.update", json!({"passwd_check_rules": 15, "passwd_min_length": 10}), Some(&f.admin)).await;
    let cases = [
        ("Ab1!", "must be at least 10 characters long"),
        ("alllower-case-1", "must contain at least one lowercase and one uppercase Latin letter"),
        ("No-Digits-Here", "must contain at least one digit"),
        ("NoSpecials123", "must contain at least one special character"),
        ("Ann-1234567x", "must not contain user's name, surname or username"),
    ];
    for (passwd, reason) in cases {
        let (code, data) = f.s.err("user.update", json!({"userid": f.ann_id, "passwd": passwd}), Some(&f.admin)).await;
        assert_eq!((code, data), (-32602, format!("Incorrect value for field \"/1/passwd\": {reason}.")), "{passwd}");
    }
    f.s.ok("user.update", json!({"userid": f.ann_id, "passwd": "Tr0ub4dor&3-horse"}), Some(&f.admin)).await;
    f.s.stop().await;
}

#[tokio::test]
async fn a_list_of_scalars_is_a_php_fatal_error() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let body = json!({"jsonrpc": "2.0", "method": "user.update", "params": ["4"], "auth": admin, "id": 1});
    let r = s.post(&body).await;
    assert_eq!((r.status, r.bytes.len()), (500, 0));
    s.stop().await;
}

#[tokio::test]
async fn envelope_texts() {
    let s = common::start("6.0.14").await;
    let cases = [
        (
            json!({"method": "a.b", "params": [], "id": 1}),
            "Invalid parameter \"/\": the parameter \"jsonrpc\" is missing.",
        ),
        (
            json!({"jsonrpc": 2, "method": "a.b", "params": [], "id": 1}),
            "Invalid parameter \"/jsonrpc\": a character string is expected.",
        ),
        (
            json!({"jsonrpc": "2.0", "params": [], "id": 1}),
            "Invalid parameter \"/\": the parameter \"method\" is missing.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": 5, "params": [], "id": 1}),
            "Invalid parameter \"/method\": a character string is expected.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "id": 1}),
            "Invalid parameter \"/\": the parameter \"params\" is missing.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "params": "x", "id": 1}),
            "Invalid parameter \"/params\": an array or object is expected.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "auth": "", "id": 1}),
            "Invalid parameter \"/auth\": cannot be empty.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "auth": 5, "id": 1}),
            "Invalid parameter \"/auth\": a character string is expected.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "id": [1]}),
            "Invalid parameter \"/id\": a string, number or null value is expected.",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "id": 1, "x": 1}),
            "Invalid parameter \"/\": unexpected parameter \"x\".",
        ),
    ];
    for (body, data) in cases {
        let r = s.post(&body).await;
        assert_eq!(r.json["error"]["code"], -32600, "{body}");
        assert_eq!(r.json["error"]["message"], "Invalid request.", "{body}");
        assert_eq!(r.json["error"]["data"], data, "{body}");
        let id_ok = !matches!(body.get("id"), Some(Value::Array(_)));
        assert_eq!(r.json["id"], if id_ok { json!(1) } else { Value::Null }, "{body}");
    }
    // 7.4 removed `auth`.
    let s74 = common::start("7.4.0").await;
    let r = s74.post(&json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": [], "auth": "x", "id": 1})).await;
    assert_eq!(r.json["error"]["data"], "Invalid parameter \"/\": unexpected parameter \"auth\".");
    s.stop().await;
    s74.stop().await;
}
