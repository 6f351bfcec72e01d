//! Contract cases for the audit log: a user write with an audit context records the
//! values after and before (as the same texts on both backends: booleans 1/0, dates
//! ISO, departments and custom values comma-joined), only what changed, in the write's
//! own transaction; appended records and queries by action, resource, actor and time.

use roster_core::audit::{AuditContext, AuditQuery, NewAuditRecord, ACTION_ADD, ACTION_DELETE, ACTION_UPDATE};
use roster_core::{CustomValue, FieldType, Store, UserId, UserPatch, Value};
use serde_json::{json, Value as Json};

use crate::fixtures::{create, dept, new_user, outcome, patch, text};
use crate::harness::Env;

fn ctx(actor: Option<UserId>) -> AuditContext {
    AuditContext::new(actor, "bitrix24", "10.1.2.3")
}

async fn log(s: &dyn Store, q: AuditQuery) -> Vec<roster_core::audit::AuditRecord> {
    s.audit_log(q).await.unwrap()
}

pub async fn user_changes_are_recorded(env: Env) {
    let s = &*env.store;
    let admin = create(s, "boss", &[]).await;
    let d = dept(s, "Sales", 1, None).await;
    let f = s.create_user_field(crate::fields::field("UF_USR_CITY", FieldType::String, 1)).await.unwrap();

    let mut u = new_user("ivan", &[("name", text("Иван")), ("active", Value::Bool(true))]);
    u.patch.audit = Some(ctx(Some(admin)));
    let id = s.create_user(u).await.unwrap();
    let added = log(s, AuditQuery::default()).await;
    assert_eq!(added.len(), 1);
    let r = &added[0];
    assert_eq!(
        (r.action, r.resource_type, r.resource_id, r.resource_name.as_str()),
        (ACTION_ADD, 0, Some(id.get()), "ivan")
    );
    assert_eq!(
        (r.actor, r.actor_name.as_str(), r.ip.as_str(), r.face.as_str()),
        (Some(admin), "boss", "10.1.2.3", "bitrix24")
    );
    let details: Json = serde_json::from_str(&r.details).unwrap();
    assert_eq!((&details["user.name"], &details["user.active"]), (&json!(["add", "Иван"]), &json!(["add", "1"])));
    assert_eq!(r.recordset_id.len(), 24);

    let mut p = patch(&[
        ("name", text("Иван")),
        ("active", Value::Bool(false)),
        ("personal_birthday", Value::Date(chrono::NaiveDate::from_ymd_opt(1990, 5, 1).unwrap())),
    ]);
    p.departments = Some(vec![d]);
    p.custom.push((f, roster_core::CustomChange::Set(vec![CustomValue::text("Москва"), CustomValue::text("Тверь")])));
    p.audit = Some(AuditContext { notes: vec![("passwd".into(), "******".into())], ..ctx(None) });
    s.update_user(id, p).await.unwrap();
    let updated = &log(s, AuditQuery { actions: Some(vec![ACTION_UPDATE]), ..Default::default() }).await[0];
    let details: Json = serde_json::from_str(&updated.details).unwrap();
    assert!(details.get("user.name").is_none(), "unchanged values are left out");
    assert_eq!(details["user.active"], json!(["update", "0", "1"]));
    assert_eq!(details["user.personal_birthday"], json!(["update", "1990-05-01", ""]));
    assert_eq!(details["user.departments"], json!(["update", d.to_string(), ""]));
    assert_eq!(details[format!("user.uf{f}")], json!(["update", "Москва,Тверь", ""]));
    assert_eq!(details["user.passwd"], json!(["update", "******"]));
    assert_eq!((updated.actor, updated.actor_name.as_str()), (None, ""));

    // A rename is logged under the new name.
    let rename = UserPatch { login: Some("ivan2".into()), audit: Some(ctx(None)), ..UserPatch::default() };
    s.update_user(id, rename).await.unwrap();
    let renamed = &log(s, AuditQuery::default()).await[0];
    assert_eq!(renamed.resource_name, "ivan2");
    assert_eq!(
        serde_json::from_str::<Json>(&renamed.details).unwrap()["user.username"],
        json!(["update", "ivan2", "ivan"])
    );

    // A failed write leaves no record: it is in the same transaction.
    let mut bad = patch(&[("name", text("x"))]);
    bad.expected_version = Some(1);
    bad.audit = Some(ctx(Some(admin)));
    assert_eq!(outcome(&s.update_user(id, bad).await), Err("version conflict".into()));
    assert_eq!(log(s, AuditQuery::default()).await.len(), 3);
}

pub async fn appended_records_and_queries(env: Env) {
    let s = &*env.store;
    let actor = create(s, "ann", &[]).await;
    let c = AuditContext::new(Some(actor), "zabbix", "::1");
    let mut records = Vec::new();
    for (action, kind, id) in [(ACTION_ADD, 14, 20), (ACTION_DELETE, 14, 20), (ACTION_ADD, 45, 3)] {
        let mut r = NewAuditRecord::new(&c, action, kind, Some(id), format!("r{id}"));
        r.details = json!({"k": action}).to_string();
        records.push(r);
    }
    s.append_audit(records).await.unwrap();
    s.append_audit(vec![NewAuditRecord::new(&AuditContext::new(None, "cli", ""), ACTION_ADD, 1001, None, "")])
        .await
        .unwrap();
    let newest = log(s, AuditQuery::default()).await;
    assert_eq!(newest.iter().map(|r| r.resource_type).collect::<Vec<_>>(), [1001, 45, 14, 14], "newest first");
    assert_eq!((newest[3].actor_name.as_str(), newest[3].details.as_str()), ("ann", r#"{"k":0}"#));
    assert_eq!((newest[0].resource_id, newest[0].actor), (None, None));
    let oldest = log(s, AuditQuery { ascending: true, limit: Some(2), ..Default::default() }).await;
    assert_eq!(oldest.iter().map(|r| r.action).collect::<Vec<_>>(), [ACTION_ADD, ACTION_DELETE]);
    let q = AuditQuery { resource_types: Some(vec![14]), actions: Some(vec![ACTION_DELETE]), ..Default::default() };
    assert_eq!(log(s, q).await.len(), 1);
    let q = AuditQuery { actors: Some(vec![actor.get()]), resource_ids: Some(vec![3, 20]), ..Default::default() };
    assert_eq!(log(s, q).await.len(), 3);
    assert!(log(s, AuditQuery { actors: Some(vec![]), ..Default::default() }).await.is_empty());
    let clock = newest[0].clock;
    assert_eq!(
        log(s, AuditQuery { time_from: Some(clock - 60), time_till: Some(clock + 60), ..Default::default() })
            .await
            .len(),
        4
    );
    assert!(log(s, AuditQuery { time_from: Some(clock + 60), ..Default::default() }).await.is_empty());
}

/// A user's history by resource id: every record of that user, newest first, also after
/// the user is deleted, and not another resource's records that share the number.
pub async fn user_history_by_resource_id(env: Env) {
    let s = &*env.store;
    let admin = create(s, "root", &[]).await;
    let mut u = new_user("olga", &[("name", text("Ольга"))]);
    u.patch.audit = Some(ctx(Some(admin)));
    let olga = s.create_user(u).await.unwrap();
    let other = create(s, "petr", &[]).await;
    for (who, name) in [(olga, "a"), (other, "b"), (olga, "c"), (olga, "d"), (other, "e")] {
        let mut p = patch(&[("name", text(name))]);
        p.audit = Some(ctx(Some(admin)));
        s.update_user(who, p).await.unwrap();
    }
    // A group with the same number as the user.
    s.append_audit(vec![NewAuditRecord::new(&ctx(Some(admin)), ACTION_ADD, 14, Some(olga.get()), "g")]).await.unwrap();
    let of = |ids: Vec<i64>, types: Option<Vec<i64>>| AuditQuery {
        resource_ids: Some(ids),
        resource_types: types,
        ..Default::default()
    };
    let history = log(s, of(vec![olga.get()], Some(vec![0]))).await;
    assert_eq!(history.iter().map(|r| r.action).collect::<Vec<_>>(), [1, 1, 1, 0], "three updates, then the add");
    assert!(history.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(log(s, of(vec![olga.get()], None)).await.len(), 5, "the group's record too");
    assert_eq!(log(s, of(vec![olga.get(), other.get()], Some(vec![0]))).await.len(), 6);
    let oldest = log(s, AuditQuery { ascending: true, limit: Some(2), ..of(vec![olga.get()], Some(vec![0])) }).await;
    assert_eq!(oldest.iter().map(|r| r.action).collect::<Vec<_>>(), [0, 1]);

    s.delete_users(vec![olga]).await.unwrap();
    s.append_audit(vec![NewAuditRecord::new(&ctx(Some(admin)), ACTION_DELETE, 0, Some(olga.get()), "olga")])
        .await
        .unwrap();
    let history = log(s, of(vec![olga.get()], Some(vec![0]))).await;
    assert_eq!(history.iter().map(|r| r.action).collect::<Vec<_>>(), [2, 1, 1, 1, 0], "kept after the delete");
    assert_eq!(log(s, of(vec![other.get()], Some(vec![0]))).await.len(), 2);
}
