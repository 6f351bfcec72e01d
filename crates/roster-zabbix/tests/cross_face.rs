//! One directory, two faces: a user created or changed through Zabbix is the same user
//! (same id) through Bitrix24 and the other way round; `username` is the login (the
//! e-mail of a Bitrix24-added user), `name`/`surname` are NAME/LAST_NAME; a super admin
//! role is the Bitrix24 administrator flag; ACTIVE=N shuts the Zabbix face.

mod common;

use common::user_params;
use roster_core::{Store, UserId};
use serde_json::{json, Value};

fn bitrix_user(answer: &Value) -> Value {
    answer["result"].as_array().and_then(|l| l.first()).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn created_in_zabbix_seen_in_bitrix() {
    let s = common::start("7.0.0").await;
    let admin = s.admin().await;
    let id = s.create_user(&admin, user_params("zoe", "Zo-Secret-2024!")).await;
    let u = bitrix_user(&s.bitrix("user.get", json!({"ID": id})).await);
    assert_eq!(u["ID"], id);
    assert_eq!(u["NAME"], "Ann");
    assert_eq!(u["LAST_NAME"], "Lee");
    assert_eq!(u["ACTIVE"], true);
    assert_eq!(u["UF_DEPARTMENT"], json!([1]));
    // Changed in Zabbix, seen in Bitrix24; changed in Bitrix24, seen in Zabbix.
    s.ok("user.update", json!({"userid": id, "name": "Zoe", "surname": "Quinn"}), Some(&admin)).await;
    let u = bitrix_user(&s.bitrix("user.get", json!({"ID": id})).await);
    assert_eq!((u["NAME"].as_str(), u["LAST_NAME"].as_str()), (Some("Zoe"), Some("Quinn")));
    s.bitrix("user.update", json!({"ID": id, "NAME": "Zoey", "LAST_NAME": "Q."})).await;
    let z = s.ok("user.get", json!({"userids": id, "output": ["username", "name", "surname"]}), Some(&admin)).await;
    assert_eq!(z, json!([{"username": "zoe", "name": "Zoey", "surname": "Q."}]));
    // Deleted in Zabbix: gone from Bitrix24 too.
    s.ok("user.delete", json!([id]), Some(&admin)).await;
    assert_eq!(s.bitrix("user.get", json!({"ID": id})).await["result"], json!([]));
    s.stop().await;
}

#[tokio::test]
async fn added_in_bitrix_seen_in_zabbix() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let added = s
        .bitrix(
            "user.add",
            json!({"EMAIL": "amy@example.com", "NAME": "Amy", "LAST_NAME": "Pond", "UF_DEPARTMENT": [1]}),
        )
        .await;
    let id = added["result"].as_i64().expect("id").to_string();
    let z = s
        .ok("user.get", json!({"userids": id, "output": ["userid", "username", "name", "surname", "roleid"], "selectUsrgrps": ["usrgrpid"]}), Some(&admin))
        .await;
    assert_eq!(
        z,
        json!([{"userid": id, "username": "amy@example.com", "name": "Amy", "surname": "Pond", "roleid": "1", "usrgrps": [{"usrgrpid": "13"}]}])
    );
    // Without a password the user cannot log in; once Zabbix sets one, the e-mail logs in.
    let e = s.err("user.login", json!({"username": "amy@example.com", "password": ""}), None).await;
    assert_eq!(e.0, -32500);
    s.ok("user.update", json!({"userid": id, "passwd": "Am-Secret-2024!"}), Some(&admin)).await;
    let sid = s.login("amy@example.com", "Am-Secret-2024!").await;
    assert_eq!(
        s.ok("user.get", json!({"userids": id, "output": ["username"]}), Some(&sid)).await,
        json!([{"username": "amy@example.com"}])
    );

    // ACTIVE=N in Bitrix24: no Zabbix login, and the session stops working.
    s.bitrix("user.update", json!({"ID": id, "ACTIVE": "N"})).await;
    assert_eq!(s.err("user.get", json!({}), Some(&sid)).await.1, "Session terminated, re-login, please.");
    let e = s.err("user.login", json!({"username": "amy@example.com", "password": "Am-Secret-2024!"}), None).await;
    assert_eq!(e, (-32602, "No permissions for system access.".into()));
    s.bitrix("user.update", json!({"ID": id, "ACTIVE": "Y"})).await;
    s.login("amy@example.com", "Am-Secret-2024!").await;
    s.stop().await;
}

#[tokio::test]
async fn super_admin_role_is_the_bitrix_administrator() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let id = s.create_user(&admin, user_params("ray", "Ra-Secret-2024!")).await;
    // The server's own database, on whichever backend the harness chose.
    let url = common::test_database_url(s.db_path.parent().expect("dir"), "z.db");
    let store = roster_store::open(&url).expect("store");
    let uid = UserId::new(id.parse().expect("id")).expect("positive");
    let is_admin = |store: &std::sync::Arc<dyn Store>| {
        let store = store.clone();
        async move { store.user(uid).await.expect("read").expect("user").is_admin }
    };
    assert!(!is_admin(&store).await);
    s.ok("user.update", json!({"userid": id, "roleid": "3"}), Some(&admin)).await;
    assert!(is_admin(&store).await);
    s.ok("user.update", json!({"userid": id, "roleid": "2"}), Some(&admin)).await;
    assert!(!is_admin(&store).await);
    let boss = s
        .create_user(
            &admin,
            json!({"username": "boss", "passwd": "Bo-Secret-2024!", "roleid": 3, "usrgrps": [{"usrgrpid": 7}]}),
        )
        .await;
    let boss = UserId::new(boss.parse().expect("id")).expect("positive");
    assert!(store.user(boss).await.expect("read").expect("user").is_admin);
    s.stop().await;
}

#[tokio::test]
async fn guest_belongs_to_the_zabbix_face_only() {
    let s = common::start("6.0.14").await;
    let admin = s.admin().await;
    let listed = s.bitrix("user.get", json!({"ADMIN_MODE": "Y"})).await;
    let ids: Vec<&str> = listed["result"].as_array().expect("list").iter().filter_map(|u| u["ID"].as_str()).collect();
    assert_eq!(ids, vec!["1"]);
    let z = s.ok("user.get", json!({"output": ["userid", "username"]}), Some(&admin)).await;
    assert_eq!(z, json!([{"userid": "1", "username": "Admin"}, {"userid": "2", "username": "guest"}]));
    // The bootstrap administrator logs in to both faces with the same password.
    let data = s
        .ok("user.login", json!({"username": "Admin", "password": common::ADMIN_PASSWORD, "userData": true}), None)
        .await;
    assert_eq!(data["type"], 3);
    s.stop().await;
}
