//! The user API end to end: a fresh directory as a fresh Zabbix, create/get/update/delete
//! with groups and media, sessions (login, logout, blocking, password changes), API
//! tokens and both ways of passing credentials, per version profile.

mod common;

use common::{user_params, ADMIN_PASSWORD};
use serde_json::{json, Value};

#[tokio::test]
async fn a_fresh_directory_looks_like_a_fresh_zabbix() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let users = s
        .ok(
            "user.get",
            json!({"output": "extend", "selectUsrgrps": ["usrgrpid"], "selectRole": "extend"}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        users[0],
        json!({"userid": "1", "username": "Admin", "name": "Zabbix", "surname": "Administrator", "url": "",
            "autologin": "1", "autologout": "0", "lang": "default", "refresh": "30s", "theme": "default",
            "attempt_failed": "0", "attempt_ip": "", "attempt_clock": "0", "rows_per_page": "50", "timezone": "default",
            "roleid": "3", "usrgrps": [{"usrgrpid": "7"}, {"usrgrpid": "13"}],
            "role": {"roleid": "3", "name": "Super admin role", "type": "3", "readonly": "1"}})
    );
    assert_eq!(users[1]["username"], "guest");
    assert_eq!(users[1]["roleid"], "4");
    assert_eq!(users[1]["usrgrps"], json!([{"usrgrpid": "8"}, {"usrgrpid": "9"}, {"usrgrpid": "13"}]));
    let groups = s
        .ok("usergroup.get", json!({"output": ["usrgrpid", "name", "gui_access", "users_status"]}), Some(&admin))
        .await;
    let names: Vec<(&str, &str)> = groups
        .as_array()
        .expect("list")
        .iter()
        .map(|g| (g["usrgrpid"].as_str().unwrap_or(""), g["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        names,
        vec![
            ("7", "Zabbix administrators"),
            ("8", "Guests"),
            ("9", "Disabled"),
            ("11", "Enabled debug mode"),
            ("12", "No access to the frontend"),
            ("13", "Internal")
        ]
    );
    let roles = s.ok("role.get", json!({"output": "extend"}), Some(&admin)).await;
    assert_eq!(roles.as_array().map(Vec::len), Some(4));
    assert_eq!(roles[3], json!({"roleid": "4", "name": "Guest role", "type": "1", "readonly": "0"}));
    let types = s
        .ok(
            "mediatype.get",
            json!({"output": ["mediatypeid", "name", "type"], "mediatypeids": ["1", "3", "4"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        types,
        json!([{"mediatypeid": "1", "name": "Email", "type": "0"}, {"mediatypeid": "3", "name": "SMS", "type": "2"}, {"mediatypeid": "4", "name": "Email (HTML)", "type": "0"}])
    );
    let auth =
        s.ok("authentication.get", json!({"output": ["passwd_min_length", "passwd_check_rules"]}), Some(&admin)).await;
    assert_eq!(auth, json!({"passwd_min_length": "8", "passwd_check_rules": "8"}));
    // A fresh directory's log holds only the administrator's login just made.
    let log = s.ok("auditlog.get", json!({}), Some(&admin)).await;
    let entries = log.as_array().expect("auditlog.get answers a list");
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!((entries[0]["action"].as_str(), entries[0]["userid"].as_str()), (Some("8"), Some("1")));
    s.stop().await;
}

#[tokio::test]
async fn create_get_update_delete_with_groups_and_media() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let mut params = user_params("kate", "Kt-Secret-2024!");
    params["medias"] = json!([{"mediatypeid": "1", "sendto": ["kate@example.com"], "severity": 60}, {"mediatypeid": "3", "sendto": "+371000"}]);
    let id = s.create_user(&admin, params).await;
    let get = |extra: Value| {
        let mut p = json!({"userids": id, "output": ["userid", "username", "name", "surname", "roleid"]});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        p
    };
    let u = s
        .ok(
            "user.get",
            get(json!({"selectMedias": "extend", "selectUsrgrps": ["usrgrpid"], "selectMediatypes": ["name"]})),
            Some(&admin),
        )
        .await;
    assert_eq!(u[0]["username"], "kate");
    assert_eq!(u[0]["usrgrps"], json!([{"usrgrpid": "13"}]));
    let medias = u[0]["medias"].as_array().expect("medias").clone();
    assert_eq!(medias[0]["sendto"], json!(["kate@example.com"]));
    assert_eq!(medias[0]["severity"], "60");
    assert_eq!(medias[0]["period"], "1-7,00:00-24:00");
    assert_eq!(medias[1]["sendto"], "+371000");
    assert_eq!(u[0]["mediatypes"], json!([{"name": "Email"}, {"name": "SMS"}]));
    let email_id = medias[0]["mediaid"].clone();

    // Replacing media: a matching item keeps its id, others are new, the rest go.
    let r = s.ok("user.update", json!({"userid": format!("00{id}"), "name": "Kate", "usrgrps": [{"usrgrpid": 7}, {"usrgrpid": 13}],
        "medias": [{"mediatypeid": 1, "sendto": "kate@example.com", "active": 1}, {"mediatypeid": 4, "sendto": "k@example.com"}]}), Some(&admin)).await;
    assert_eq!(r, json!({"userids": [id.clone()]}));
    let u = s
        .ok(
            "user.get",
            get(json!({"selectMedias": ["mediaid", "mediatypeid", "active"], "selectUsrgrps": ["usrgrpid"]})),
            Some(&admin),
        )
        .await;
    assert_eq!(u[0]["name"], "Kate");
    assert_eq!(u[0]["usrgrps"], json!([{"usrgrpid": "7"}, {"usrgrpid": "13"}]));
    assert_eq!(u[0]["medias"][0], json!({"mediaid": email_id, "mediatypeid": "1", "active": "1"}));
    assert_eq!(u[0]["medias"][1]["mediatypeid"], "4");
    assert_eq!(u[0]["medias"].as_array().map(Vec::len), Some(2));
    s.ok("user.update", json!({"userid": id, "medias": []}), Some(&admin)).await;
    let u = s.ok("user.get", get(json!({"selectMedias": "extend"})), Some(&admin)).await;
    assert_eq!(u[0]["medias"], json!([]));
    // A no-op update succeeds; several users in one call; options of user.get.
    s.ok("user.update", json!({"userid": id}), Some(&admin)).await;
    let other = s.create_user(&admin, user_params("lena", "Ln-Secret-2024!")).await;
    let r = s
        .ok(
            "user.update",
            json!([{"userid": other, "surname": "Berg"}, {"userid": id, "surname": "Berg"}]),
            Some(&admin),
        )
        .await;
    assert_eq!(r, json!({"userids": [other.clone(), id.clone()]}));
    assert_eq!(
        s.ok("user.get", json!({"filter": {"surname": "Berg"}, "countOutput": true}), Some(&admin)).await,
        json!("2")
    );
    let r = s.ok("user.get", json!({"search": {"username": "EN"}, "output": ["username"]}), Some(&admin)).await;
    assert_eq!(r, json!([{"username": "lena"}]));
    let r = s.ok("user.get", json!({"filter": {"surname": "Berg"}, "output": ["username"], "sortfield": "username", "sortorder": "DESC", "limit": 1}), Some(&admin)).await;
    assert_eq!(r, json!([{"username": "lena"}]));
    let r = s
        .ok("user.get", json!({"userids": [id.clone()], "output": ["username"], "preservekeys": true}), Some(&admin))
        .await;
    assert_eq!(r, json!({id.clone(): {"username": "kate"}}));
    let r = s
        .ok(
            "user.get",
            json!({"search": {"username": "ka", "name": "zz"}, "searchByAny": true, "output": ["username"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(r, json!([{"username": "kate"}]));

    // Delete: an object counts as the list of its values.
    let kate = s.login("kate", "Kt-Secret-2024!").await;
    assert_eq!(s.ok("user.delete", json!({"userid": id}), Some(&admin)).await, json!({"userids": [id.clone()]}));
    assert_eq!(s.ok("user.get", json!({"userids": id}), Some(&admin)).await, json!([]));
    assert_eq!(
        s.err("user.get", json!({}), Some(&kate)).await,
        (-32602, "Session terminated, re-login, please.".into())
    );
    s.stop().await;
}

#[tokio::test]
async fn login_logout_check_and_block() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    s.create_user(&admin, user_params("mia", "Mi-Secret-2024!")).await;
    let data =
        s.ok("user.login", json!({"username": "mia", "password": "Mi-Secret-2024!", "userData": true}), None).await;
    assert_eq!(data["type"], 1);
    assert_eq!(data["lang"], "en_US");
    assert_eq!(data["timezone"], "system");
    assert_eq!(data["gui_access"], 1);
    let sid = data["sessionid"].as_str().expect("sessionid").to_owned();
    assert!(sid.len() == 32 && sid.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{sid}");
    let check = s.ok("user.checkAuthentication", json!({"sessionid": sid}), None).await;
    assert_eq!(check["username"], "mia");
    assert_eq!(s.ok("user.logout", json!([]), Some(&sid)).await, json!(true));
    assert_eq!(
        s.err("user.get", json!({}), Some(&sid)).await,
        (-32602, "Session terminated, re-login, please.".into())
    );

    // The deprecated `user` parameter still logs in on 6.0.
    s.ok("user.login", json!({"user": "mia", "password": "Mi-Secret-2024!"}), None).await;
    // Five failures block the account for 30 s, even for the right password.
    for _ in 0..5 {
        let e = s.err("user.login", json!({"username": "mia", "password": "wrong"}), None).await;
        assert_eq!(e, (-32500, "Incorrect user name or password or account is temporarily blocked.".into()));
    }
    let u = s.ok("user.get", json!({"filter": {"username": "mia"}, "output": ["attempt_failed"]}), Some(&admin)).await;
    assert_eq!(u[0]["attempt_failed"], "5");
    let e = s.err("user.login", json!({"username": "mia", "password": "Mi-Secret-2024!"}), None).await;
    assert_eq!(e.0, -32500);
    let id = s.ok("user.get", json!({"filter": {"username": "mia"}, "output": ["userid"]}), Some(&admin)).await[0]
        ["userid"]
        .clone();
    s.ok("user.unblock", json!([id]), Some(&admin)).await;
    s.login("mia", "Mi-Secret-2024!").await;
    let u = s.ok("user.get", json!({"filter": {"username": "mia"}, "output": ["attempt_failed"]}), Some(&admin)).await;
    assert_eq!(u[0]["attempt_failed"], "0");
    s.stop().await;
}

#[tokio::test]
async fn api_tokens_in_auth_and_bearer() {
    for version in ["6.0.14", "7.0.0"] {
        let s = common::start(version).await;
        let admin = s.admin().await;
        let ids = s.ok("token.create", json!({"name": "ci"}), Some(&admin)).await;
        let tokenid = ids["tokenids"][0].as_str().expect("tokenid").to_owned();
        let generated = s.ok("token.generate", json!([tokenid]), Some(&admin)).await;
        let token = generated[0]["token"].as_str().expect("token").to_owned();
        assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        let me = s.ok("user.get", json!({"output": ["username"], "userids": "1"}), Some(&token)).await;
        assert_eq!(me, json!([{"username": "Admin"}]));
        let listed = s.ok("token.get", json!({"output": ["tokenid", "name", "userid", "status"]}), Some(&admin)).await;
        assert_eq!(listed, json!([{"tokenid": tokenid, "name": "ci", "userid": "1", "status": "0"}]));
        // Bearer: read from 6.4 on, ignored by 6.0.
        let r = s.call_bearer("user.get", json!({"output": ["userid"], "userids": "1"}), &token).await;
        let r2 = s.call_bearer("user.get", json!({"output": ["userid"], "userids": "1"}), &admin).await;
        if version.starts_with('7') {
            assert_eq!(r["result"], json!([{"userid": "1"}]), "{r}");
            assert_eq!(r2["result"], json!([{"userid": "1"}]), "{r2}");
            let check = s.ok("user.checkAuthentication", json!({"token": token}), None).await;
            assert_eq!(check["userid"], "1");
        } else {
            assert_eq!(r["error"]["data"], "Not authorized.", "{r}");
            assert_eq!(r2["error"]["data"], "Not authorized.", "{r2}");
        }
        // A disabled or regenerated token stops working; so does a deleted one.
        s.ok("token.update", json!({"tokenid": tokenid, "status": 1}), Some(&admin)).await;
        assert_eq!(s.err("user.get", json!({}), Some(&token)).await, (-32602, "Not authorized.".into()));
        s.ok("token.update", json!({"tokenid": tokenid, "status": 0}), Some(&admin)).await;
        let fresh =
            s.ok("token.generate", json!([tokenid]), Some(&admin)).await[0]["token"].as_str().unwrap_or("").to_owned();
        assert_eq!(s.err("user.get", json!({}), Some(&token)).await.1, "Not authorized.");
        s.ok("user.get", json!({"userids": "1"}), Some(&fresh)).await;
        let e = s.err("token.create", json!({"name": "ci"}), Some(&admin)).await;
        assert_eq!(e, (-32602, "API token \"ci\" already exists for userid \"1\".".into()));
        let old =
            s.ok("token.create", json!({"name": "old", "expires_at": 1}), Some(&admin)).await["tokenids"][0].clone();
        let expired =
            s.ok("token.generate", json!([old]), Some(&admin)).await[0]["token"].as_str().unwrap_or("").to_owned();
        assert_eq!(s.err("user.get", json!({}), Some(&expired)).await, (-32500, "API token expired.".into()));
        s.ok("token.delete", json!([tokenid]), Some(&admin)).await;
        assert_eq!(s.err("user.get", json!({}), Some(&fresh)).await.1, "Not authorized.");
        s.stop().await;
    }
}

#[tokio::test]
async fn seven_zero_password_changes_and_optional_role() {
    let s = common::start("7.0.0").await;
    let admin = s.admin().await;
    let id = s.create_user(&admin, user_params("noa", "No-Secret-2024!")).await;
    let first = s.login("noa", "No-Secret-2024!").await;
    let second = s.login("noa", "No-Secret-2024!").await;
    let r = s
        .call_bearer(
            "user.update",
            json!({"userid": id, "passwd": "No-Newer-2025!", "current_passwd": "No-Secret-2024!"}),
            &first,
        )
        .await;
    assert_eq!(r["result"], json!({"userids": [id.clone()]}), "{r}");
    // The session that changed the password lives on; the others end.
    assert!(s.call_bearer("user.get", json!({"userids": id}), &first).await.get("result").is_some());
    assert_eq!(s.err("user.get", json!({}), Some(&second)).await.1, "Session terminated, re-login, please.");
    s.login("noa", "No-Newer-2025!").await;
    // A super admin sets another user's password without current_passwd.
    s.ok("user.update", json!({"userid": id, "passwd": "No-Admin-Set-1!"}), Some(&admin)).await;
    // 7.0: a user may be created without role and groups (and then cannot log in).
    let bare = s.create_user(&admin, json!({"username": "bare"})).await;
    let u = s
        .ok(
            "user.get",
            json!({"userids": bare, "output": ["roleid", "userdirectoryid"], "selectUsrgrps": ["usrgrpid"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(u, json!([{"roleid": "0", "userdirectoryid": "0", "usrgrps": []}]));
    s.stop().await;
}

#[tokio::test]
async fn six_zero_password_change_keeps_sessions_and_needs_no_current() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let id = s.create_user(&admin, user_params("oli", "Ol-Secret-2024!")).await;
    let sid = s.login("oli", "Ol-Secret-2024!").await;
    s.ok("user.update", json!({"userid": id, "passwd": "Ol-Newer-2025!"}), Some(&sid)).await;
    s.ok("user.get", json!({"userids": id}), Some(&sid)).await;
    s.login("oli", "Ol-Newer-2025!").await;
    assert_eq!(s.err("user.login", json!({"username": "oli", "password": "Ol-Secret-2024!"}), None).await.0, -32500);
    s.stop().await;
}

#[tokio::test]
async fn users_of_type_one_see_their_groups_and_edit_themselves() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let pia = s.create_user(&admin, user_params("pia", "Pi-Secret-2024!")).await;
    s.create_user(&admin, json!({"username": "hidden", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]})).await;
    let sid = s.login("pia", "Pi-Secret-2024!").await;
    let seen = s.ok("user.get", json!({"output": ["username"]}), Some(&sid)).await;
    assert_eq!(seen, json!([{"username": "Admin"}, {"username": "guest"}, {"username": "pia"}]));
    let mine = s.ok("user.get", json!({"output": ["username"], "editable": true}), Some(&sid)).await;
    assert_eq!(mine, json!([{"username": "pia"}]));
    // Own fields, own groups (not disabled ones) and an unchanged role are allowed.
    s.ok("user.update", json!({"userid": pia, "name": "Pia", "theme": "dark-theme", "roleid": "1", "usrgrps": [{"usrgrpid": 13}, {"usrgrpid": 7}]}), Some(&sid)).await;
    let access = s.ok("user.get", json!({"userids": pia, "output": ["theme"], "getAccess": true}), Some(&admin)).await;
    assert_eq!(access, json!([{"theme": "dark-theme", "gui_access": "1", "debug_mode": "0", "users_status": "0"}]));
    assert_eq!(s.ok("user.logout", json!({}), Some(&sid)).await, json!(true));
    let _ = ADMIN_PASSWORD;
    s.stop().await;
}

#[tokio::test]
async fn usergroups_are_managed_by_super_admins() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let rex = s.create_user(&admin, json!({"username": "rex", "roleid": 1, "usrgrps": [{"usrgrpid": 12}]})).await;
    let r = s
        .ok(
            "usergroup.create",
            json!({"name": "Ops", "gui_access": 3, "users": [{"userid": rex}], "hostgroup_rights": []}),
            Some(&admin),
        )
        .await;
    let gid = r["usrgrpids"][0].as_str().expect("id").to_owned();
    let e = s.err("usergroup.create", json!({"name": "Ops"}), Some(&admin)).await;
    assert_eq!(e, (-32602, "User group \"Ops\" already exists.".into()));
    let g = s
        .ok("usergroup.get", json!({"usrgrpids": gid, "selectUsers": ["username"], "output": ["name"]}), Some(&admin))
        .await;
    assert_eq!(g, json!([{"name": "Ops", "users": [{"username": "rex"}]}]));
    s.ok("usergroup.update", json!({"usrgrpid": gid, "name": "Ops team"}), Some(&admin)).await;
    let e = s.err("usergroup.delete", json!([gid.clone(), "12"]), Some(&admin)).await;
    assert_eq!(e.1, "User group \"Ops team\" cannot be deleted, because user \"rex\" would be without user groups.");
    s.ok("user.update", json!({"userid": rex, "usrgrps": [{"usrgrpid": 12}]}), Some(&admin)).await;
    s.ok("usergroup.delete", json!([gid]), Some(&admin)).await;
    s.stop().await;
}
