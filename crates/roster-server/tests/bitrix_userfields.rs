//! Custom user fields end to end (seed 003, spec 3, issue 3): the five `user.userfield.*`
//! methods (scope, administrators only, their exact errors), every key of `fields` and
//! every label, each type's SETTINGS with defaults and bounds, enumeration items, and the
//! values users hold: coercion by type, lists, files, defaults, MANDATORY, filters, labels
//! in `user.fields`, and deletion. A real server over a real socket (see `common`).

mod common;

use common::{b64, merged, Reply, Server, TINY_PNG};
use serde_json::{json, Value};

const METHODS: [&str; 5] = [
    "user.userfield.add",
    "user.userfield.update",
    "user.userfield.list",
    "user.userfield.delete",
    "user.userfield.file.get",
];

const DENIED: &str = "Access denied.";
const BAD_ID: &str = "ID is not defined or invalid";

/// The same text in every portal language.
fn all_langs(text: &str) -> Value {
    json!({"en": text, "ru": text, "de": text})
}

/// The userfield methods' own error: HTTP 400, an empty code, exactly `description`.
fn blank(reply: &Reply, description: &str) {
    reply.err(400, "", Some(description));
    assert_eq!(reply.json, json!({"error": "", "error_description": description}), "{}", reply.text());
}

/// A 400 error with `code` whose description mentions `needle`.
fn refused(reply: &Reply, code: &str, needle: &str) {
    reply.err(400, code, None);
    let text = reply.json["error_description"].as_str().unwrap_or_default();
    assert!(text.contains(needle), "{needle:?} is not named in {}", reply.text());
}

async fn try_add(s: &Server, fields: Value) -> Reply {
    s.call("user.userfield.add", json!({"fields": fields})).await
}

async fn add_field(s: &Server, fields: Value) -> i64 {
    let r = try_add(s, fields).await;
    let id = r.ok().as_i64().unwrap_or_else(|| panic!("no field id: {}", r.text()));
    assert!(id > 0, "{}", r.text());
    id
}

/// Adds a field named `name` of `type_id` with the `extra` keys; its id.
async fn typed(s: &Server, name: &str, type_id: &str, extra: Value) -> i64 {
    add_field(s, merged(json!({"FIELD_NAME": name, "USER_TYPE_ID": type_id}), &extra)).await
}

async fn try_update(s: &Server, id: i64, fields: Value) -> Reply {
    s.call("user.userfield.update", json!({"id": id, "fields": fields})).await
}

async fn update_field(s: &Server, id: i64, fields: Value) {
    let r = try_update(s, id, fields).await;
    assert_eq!(r.ok(), &json!(true), "{}", r.text());
}

/// `user.userfield.list` with `params`: checks `total` and that there is no `next`.
async fn list_fields(s: &Server, params: Value) -> Vec<Value> {
    let r = s.call("user.userfield.list", params).await;
    let items = r.ok().as_array().cloned().unwrap_or_else(|| panic!("not a list: {}", r.text()));
    assert_eq!(r.json["total"], json!(items.len()), "{}", r.text());
    assert!(r.json.get("next").is_none(), "{}", r.text());
    items
}

/// The `ID` of a listed field or item (a string) as a number; 0 when absent.
fn id_of(v: &Value) -> i64 {
    v["ID"].as_str().and_then(|x| x.parse().ok()).unwrap_or(0)
}

fn names_of(items: &[Value]) -> Vec<&str> {
    items.iter().map(|f| f["FIELD_NAME"].as_str().unwrap_or_default()).collect()
}

/// The stored field `id` as `user.userfield.list` shows it.
async fn field(s: &Server, id: i64) -> Value {
    let all = list_fields(s, json!({})).await;
    all.into_iter().find(|f| id_of(f) == id).unwrap_or_else(|| panic!("field {id} is not listed"))
}

async fn settings_of(s: &Server, id: i64) -> Value {
    field(s, id).await["SETTINGS"].clone()
}

/// An add that fails with `ERROR_CORE` naming `needle` and leaves the fields as they were.
async fn refused_add(s: &Server, fields: Value, needle: &str) {
    let before = list_fields(s, json!({})).await;
    refused(&try_add(s, fields.clone()).await, "ERROR_CORE", needle);
    assert_eq!(list_fields(s, json!({})).await, before, "a failed add of {fields} left something behind");
}

/// An update that fails with `ERROR_CORE` naming `needle` and leaves the field unchanged.
async fn refused_update(s: &Server, id: i64, fields: Value, needle: &str) {
    let before = field(s, id).await;
    refused(&try_update(s, id, fields.clone()).await, "ERROR_CORE", needle);
    assert_eq!(field(s, id).await, before, "a failed update with {fields} changed the field");
}

/// Adds fields of `type_id` with each SETTINGS object and checks what is stored.
async fn settings_round_trip(s: &Server, type_id: &str, cases: &[(Value, Value)]) {
    for (n, (given, stored)) in cases.iter().enumerate() {
        let id = typed(s, &format!("{type_id}_{n}"), type_id, json!({"SETTINGS": given})).await;
        assert_eq!(&settings_of(s, id).await, stored, "{type_id} with SETTINGS {given}");
    }
}

/// Adds of `type_id` refused for each SETTINGS object, naming the setting.
async fn settings_refused(s: &Server, type_id: &str, cases: &[(Value, &str)]) {
    for (given, needle) in cases {
        refused_add(s, json!({"FIELD_NAME": "broken", "USER_TYPE_ID": type_id, "SETTINGS": given}), needle).await;
    }
}

/// `user.add` with department 1 and `extra`.
async fn try_add_user(s: &Server, email: &str, extra: Value) -> Reply {
    s.call("user.add", merged(json!({"EMAIL": email, "UF_DEPARTMENT": 1}), &extra)).await
}

/// The value of custom field `name` of user `id` (Null when the key is absent).
async fn uf(s: &Server, id: i64, name: &str) -> Value {
    s.user(id).await.get(name).cloned().unwrap_or(Value::Null)
}

/// Sets `name` to `raw` on user `id` and returns what `user.get` then shows.
async fn set_and_read(s: &Server, id: i64, name: &str, raw: Value) -> Value {
    s.update(json!({"ID": id, name: raw})).await;
    uf(s, id, name).await
}

/// The user ids `method` returns for `filter`.
async fn ids_where(s: &Server, method: &str, filter: Value) -> Vec<i64> {
    s.call(method, json!({"FILTER": filter})).await.ids()
}

/// The item ids of enumeration field `id`, in list order.
async fn item_ids(s: &Server, id: i64) -> Vec<i64> {
    let f = field(s, id).await;
    f["LIST"].as_array().into_iter().flatten().map(id_of).collect()
}

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// GETs a `showUrl` (absolute, or relative to the server).
async fn fetch(s: &Server, url: &Value) -> Reply {
    let url = url.as_str().unwrap_or_else(|| panic!("showUrl is not a string: {url}"));
    let full = if url.starts_with('/') { format!("{}{url}", s.base) } else { url.to_owned() };
    s.get(&full).await
}

/// `user.userfield.file.get` through `hook` for a `downloadData` triple.
async fn file_get(s: &Server, hook: &str, data: &Value) -> Reply {
    s.call_as(hook, "user.userfield.file.get", data.clone()).await
}

/// A file upload value `{"fileData": [name, base64]}`.
fn upload(name: &str, data: &[u8]) -> Value {
    json!({"fileData": [name, b64(data)]})
}

// ---------------------------------------------------------------------------------------
// Access and the methods' own errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_method_needs_the_userfield_scope() {
    let s = common::start().await;
    let user_only = s.hook_for(1, "user").await;
    for method in METHODS {
        let r = s
            .call_as(&user_only, method, json!({"id": 1, "fields": {"FIELD_NAME": "x", "USER_TYPE_ID": "string"}}))
            .await;
        r.err(
            403,
            "insufficient_scope",
            Some("The request requires higher privileges than provided by the webhook token"),
        );
    }
    assert!(list_fields(&s, json!({})).await.is_empty());

    // The scope alone is enough for an administrator.
    let uf_only = s.hook_for(1, "user.userfield").await;
    let r = s
        .call_as(&uf_only, "user.userfield.add", json!({"fields": {"FIELD_NAME": "scoped", "USER_TYPE_ID": "string"}}))
        .await;
    let id = r.ok().as_i64().unwrap_or_else(|| panic!("{}", r.text()));
    let r = s.call_as(&uf_only, "user.userfield.list", json!({})).await;
    assert_eq!(names_of(r.ok().as_array().map_or(&[][..], Vec::as_slice)), ["UF_USR_SCOPED"]);
    let r = s.call_as(&uf_only, "user.userfield.update", json!({"id": id, "fields": {"SORT": 7}})).await;
    assert_eq!(r.ok(), &json!(true));
    let r = s.call_as(&uf_only, "user.userfield.delete", json!({"id": id})).await;
    assert_eq!(r.ok(), &json!(true));
    assert!(list_fields(&s, json!({})).await.is_empty());
}

#[tokio::test]
async fn non_administrators_are_denied_every_method() {
    let s = common::start().await;
    let id = typed(&s, "doc", "file", json!({})).await;
    s.update(json!({"ID": 1, "UF_USR_DOC": upload("admin.txt", b"admin only")})).await;
    let data = uf(&s, 1, "UF_USR_DOC").await["downloadData"].clone();
    let before = list_fields(&s, json!({})).await;

    let (pat, _) = s.plain_user("pat@example.com", "Pat").await;
    let hook = s.hook_for(pat, "user,user.userfield").await;
    let calls = [
        ("user.userfield.add", json!({"fields": {"FIELD_NAME": "mine", "USER_TYPE_ID": "string"}})),
        ("user.userfield.update", json!({"id": id, "fields": {"SORT": 5, "LABEL": "Hacked"}})),
        ("user.userfield.list", json!({})),
        ("user.userfield.delete", json!({"id": id})),
        ("user.userfield.file.get", data),
    ];
    for (method, params) in calls {
        blank(&s.call_as(&hook, method, params).await, DENIED);
    }
    assert_eq!(list_fields(&s, json!({})).await, before, "a refused call changed the fields");
}

#[tokio::test]
async fn file_get_is_for_administrators_only_even_for_ones_own_file() {
    let s = common::start().await;
    typed(&s, "doc", "file", json!({})).await;
    let (pat, _) = s.plain_user("pat@example.com", "Pat").await;
    s.update(json!({"ID": pat, "UF_USR_DOC": upload("pat.txt", b"pat's file")})).await;
    let data = uf(&s, pat, "UF_USR_DOC").await["downloadData"].clone();
    // The administrator may read it...
    assert_eq!(file_get(&s, &s.hook, &data).await.bytes, b"pat's file");
    // ...the owner, not an administrator, may not: the methods are administrators only.
    let hook = s.hook_for(pat, "user,user.userfield").await;
    blank(&file_get(&s, &hook, &data).await, DENIED);
}

#[tokio::test]
async fn update_and_delete_check_the_id() {
    let s = common::start().await;
    let id = typed(&s, "kept", "string", json!({})).await;
    let before = field(&s, id).await;
    for method in ["user.userfield.update", "user.userfield.delete"] {
        for params in [json!({}), json!({"id": 0}), json!({"id": -4}), json!({"id": "abc"}), json!({"id": null})] {
            blank(&s.call(method, merged(params, &json!({"fields": {"SORT": 1}}))).await, BAD_ID);
        }
        // A well-formed id of no field: "Access denied." (no separate existence check).
        blank(&s.call(method, json!({"id": id + 100, "fields": {"SORT": 1}})).await, DENIED);
    }
    assert_eq!(field(&s, id).await, before);
    let r = s.call("user.userfield.delete", json!({"id": id})).await;
    assert_eq!(r.ok(), &json!(true));
    blank(&try_update(&s, id, json!({"SORT": 1})).await, DENIED);
    blank(&s.call("user.userfield.delete", json!({"id": id})).await, DENIED);
}

#[tokio::test]
async fn add_needs_a_name_and_a_type() {
    let s = common::start().await;
    blank(&try_add(&s, json!({"FIELD_NAME": "x"})).await, "The 'USER_TYPE_ID' field is not found.");
    blank(&try_add(&s, json!({"USER_TYPE_ID": "string"})).await, "The 'FIELD_NAME' field is not found.");
    let both = "The 'USER_TYPE_ID' field is not found.\nThe 'FIELD_NAME' field is not found.";
    blank(&try_add(&s, json!({"FIELD_NAME": "  ", "USER_TYPE_ID": ""})).await, both);
    let r = s.call("user.userfield.add", json!({})).await;
    blank(&r, both);
    // PHP's JSON: the quotes travel as \u0027.
    assert!(r.text().contains(r"The \u0027USER_TYPE_ID\u0027 field"), "{}", r.text());
    assert!(list_fields(&s, json!({})).await.is_empty());
}

#[tokio::test]
async fn bad_names_and_unknown_types_are_core_errors() {
    let s = common::start().await;
    refused_add(&s, json!({"FIELD_NAME": "colour", "USER_TYPE_ID": "colour"}), "colour").await;
    for bad in ["my-field", "a b", "grün", "x.y"] {
        refused_add(&s, json!({"FIELD_NAME": bad, "USER_TYPE_ID": "string"}), "UF_USR_").await;
    }
    // At most 50 characters, the UF_USR_ prefix included.
    let longest = "L".repeat(43);
    let id = typed(&s, &longest, "string", json!({})).await;
    assert_eq!(field(&s, id).await["FIELD_NAME"], format!("UF_USR_{longest}"));
    refused_add(&s, json!({"FIELD_NAME": "M".repeat(44), "USER_TYPE_ID": "string"}), "UF_USR_MMM").await;
    refused_add(
        &s,
        json!({"FIELD_NAME": format!("UF_USR_{}", "N".repeat(44)), "USER_TYPE_ID": "string"}),
        "UF_USR_NNN",
    )
    .await;
    assert_eq!(list_fields(&s, json!({})).await.len(), 1);
}

// ---------------------------------------------------------------------------------------
// The keys of `fields`, labels, names
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_key_is_stored_on_add_and_update_and_is_effective() {
    let s = common::start().await;
    let id = typed(
        &s,
        "badge",
        "string",
        json!({
            "XML_ID": "ext-badge", "SORT": 250, "MULTIPLE": "Y", "MANDATORY": "Y", "SHOW_FILTER": "Y",
            "SHOW_IN_LIST": "N", "EDIT_IN_LIST": "N", "IS_SEARCHABLE": "Y",
            "SETTINGS": {"DEFAULT_VALUE": "none", "ROWS": 3},
            "LABEL": "Badge",
            "EDIT_FORM_LABEL": "Badge no.",
            "LIST_COLUMN_LABEL": {"en": "Badge col", "ru": "Значок", "de": "Abzeichen"},
            "LIST_FILTER_LABEL": {"en": "Badge filter"},
            "ERROR_MESSAGE": "A badge is required",
            "HELP_MESSAGE": {"de": "Hilfe"},
        }),
    )
    .await;
    let mut expected = json!({
        "ID": id.to_string(), "ENTITY_ID": "USER", "FIELD_NAME": "UF_USR_BADGE", "USER_TYPE_ID": "string",
        "XML_ID": "ext-badge", "SORT": "250", "MULTIPLE": "Y", "MANDATORY": "Y", "SHOW_FILTER": "E",
        "SHOW_IN_LIST": "N", "EDIT_IN_LIST": "N", "IS_SEARCHABLE": "Y",
        "SETTINGS": {"DEFAULT_VALUE": "none", "ROWS": 3},
        "EDIT_FORM_LABEL": all_langs("Badge no."),
        "LIST_COLUMN_LABEL": {"en": "Badge col", "ru": "Значок", "de": "Abzeichen"},
        "LIST_FILTER_LABEL": {"en": "Badge filter", "ru": "Badge", "de": "Badge"},
        "ERROR_MESSAGE": all_langs("A badge is required"),
        "HELP_MESSAGE": {"en": "Badge", "ru": "Badge", "de": "Hilfe"},
    });
    assert_eq!(field(&s, id).await, expected);

    // Effective: the default fills a new user (so MANDATORY is met), the value is a list
    // (MULTIPLE), and emptying it is refused with the ERROR_MESSAGE.
    let user = s.add_user("bea@example.com", json!({})).await;
    assert_eq!(uf(&s, user, "UF_USR_BADGE").await, json!(["none"]));
    let r = s.call("user.update", json!({"ID": user, "UF_USR_BADGE": ""})).await;
    r.err(400, "ERROR_CORE", Some("A badge is required"));
    let fields = s.call("user.fields", json!({})).await;
    assert_eq!(fields.ok()["UF_USR_BADGE"], "Badge no.");

    update_field(
        &s,
        id,
        json!({
            "XML_ID": "ext-2", "SORT": 10, "MANDATORY": "N", "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y",
            "EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N", "SETTINGS": {"ROWS": 5},
            "EDIT_FORM_LABEL": "Pass", "LIST_COLUMN_LABEL": "Pass col", "LIST_FILTER_LABEL": "Pass filter",
            "ERROR_MESSAGE": "Pass needed", "HELP_MESSAGE": "Pass help",
        }),
    )
    .await;
    let changes = json!({
        "XML_ID": "ext-2", "SORT": "10", "MANDATORY": "N", "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N", "SETTINGS": {"DEFAULT_VALUE": "none", "ROWS": 5},
        "EDIT_FORM_LABEL": all_langs("Pass"), "LIST_COLUMN_LABEL": all_langs("Pass col"),
        "LIST_FILTER_LABEL": all_langs("Pass filter"), "ERROR_MESSAGE": all_langs("Pass needed"),
        "HELP_MESSAGE": all_langs("Pass help"),
    });
    expected = merged(expected, &changes);
    assert_eq!(field(&s, id).await, expected);
    // MANDATORY=N is effective too: the value may now be emptied.
    assert_eq!(set_and_read(&s, user, "UF_USR_BADGE", json!("")).await, Value::Null);
    assert_eq!(s.call("user.fields", json!({})).await.ok()["UF_USR_BADGE"], "Pass");
}

#[tokio::test]
async fn add_fills_the_defaults_of_every_key() {
    let s = common::start().await;
    let id = typed(&s, "plain", "integer", json!({})).await;
    let name = all_langs("UF_USR_PLAIN");
    let expected = json!({
        "ID": id.to_string(), "ENTITY_ID": "USER", "FIELD_NAME": "UF_USR_PLAIN", "USER_TYPE_ID": "integer",
        "XML_ID": null, "SORT": "100", "MULTIPLE": "N", "MANDATORY": "N", "SHOW_FILTER": "N",
        "SHOW_IN_LIST": "Y", "EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N", "SETTINGS": {"DEFAULT_VALUE": ""},
        "EDIT_FORM_LABEL": name, "LIST_COLUMN_LABEL": name, "LIST_FILTER_LABEL": name,
        "ERROR_MESSAGE": name, "HELP_MESSAGE": name,
    });
    assert_eq!(field(&s, id).await, expected);
    for (n, sort) in [json!(0), json!(-5)].into_iter().enumerate() {
        let id = typed(&s, &format!("sorted{n}"), "string", json!({"SORT": sort})).await;
        assert_eq!(field(&s, id).await["SORT"], "100", "SORT {sort}");
    }
    // SHOW_FILTER: Y is the mask filter E, an employee gets the exact filter I.
    let e = typed(&s, "boss", "employee", json!({"SHOW_FILTER": "Y"})).await;
    assert_eq!(field(&s, e).await["SHOW_FILTER"], "I");
    update_field(&s, e, json!({"SHOW_FILTER": "N"})).await;
    assert_eq!(field(&s, e).await["SHOW_FILTER"], "N");
    update_field(&s, id, json!({"SHOW_FILTER": "Y"})).await;
    assert_eq!(field(&s, id).await["SHOW_FILTER"], "E");
}

#[tokio::test]
async fn labels_on_add_take_strings_objects_and_label() {
    let s = common::start().await;
    let id = typed(
        &s,
        "skill",
        "string",
        json!({
            "LABEL": "Skill",
            "EDIT_FORM_LABEL": "Skill form",
            "LIST_COLUMN_LABEL": {"en": "Skill col", "de": "Fähigkeit"},
            "HELP_MESSAGE": {"ru": "Навык"},
        }),
    )
    .await;
    let f = field(&s, id).await;
    assert_eq!(f["EDIT_FORM_LABEL"], all_langs("Skill form"));
    assert_eq!(f["LIST_COLUMN_LABEL"], json!({"en": "Skill col", "ru": "Skill", "de": "Fähigkeit"}));
    assert_eq!(f["LIST_FILTER_LABEL"], all_langs("Skill"));
    assert_eq!(f["ERROR_MESSAGE"], all_langs("Skill"));
    assert_eq!(f["HELP_MESSAGE"], json!({"en": "Skill", "ru": "Навык", "de": "Skill"}));

    // Without LABEL the final field name fills what is not given.
    let id = typed(&s, "bare", "string", json!({"LIST_FILTER_LABEL": {"ru": "Фильтр"}})).await;
    let f = field(&s, id).await;
    assert_eq!(f["LIST_FILTER_LABEL"], json!({"en": "UF_USR_BARE", "ru": "Фильтр", "de": "UF_USR_BARE"}));
    assert_eq!(f["EDIT_FORM_LABEL"], all_langs("UF_USR_BARE"));
}

#[tokio::test]
async fn labels_on_update_take_strings_objects_and_label() {
    let s = common::start().await;
    let id = typed(&s, "skill", "string", json!({"LABEL": "Skill"})).await;
    update_field(&s, id, json!({"EDIT_FORM_LABEL": "Form"})).await;
    let f = field(&s, id).await;
    assert_eq!(f["EDIT_FORM_LABEL"], all_langs("Form"));
    assert_eq!(f["LIST_COLUMN_LABEL"], all_langs("Skill"), "a label not given keeps its texts");

    // An object names its languages; the others become empty (spec 3.5).
    update_field(&s, id, json!({"LIST_COLUMN_LABEL": {"de": "Spalte"}})).await;
    assert_eq!(field(&s, id).await["LIST_COLUMN_LABEL"], json!({"en": "", "ru": "", "de": "Spalte"}));

    // LABEL fills every label (and language) not given, on update too (seed 003).
    update_field(&s, id, json!({"LABEL": "Talent", "HELP_MESSAGE": "Help", "ERROR_MESSAGE": {"ru": "Ошибка"}})).await;
    let f = field(&s, id).await;
    assert_eq!(f["HELP_MESSAGE"], all_langs("Help"));
    assert_eq!(f["ERROR_MESSAGE"], json!({"en": "Talent", "ru": "Ошибка", "de": "Talent"}));
    for key in ["EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL"] {
        assert_eq!(f[key], all_langs("Talent"), "{key}");
    }
}

#[tokio::test]
async fn field_names_are_normalised_and_name_type_multiple_never_change() {
    let s = common::start().await;
    let deals = typed(&s, "deals", "string", json!({})).await;
    assert_eq!(field(&s, deals).await["FIELD_NAME"], "UF_USR_DEALS");
    // UF_DEALS is the same name: a duplicate, as are other spellings of it.
    for same in ["UF_DEALS", "uf_usr_deals", " Deals "] {
        refused_add(&s, json!({"FIELD_NAME": same, "USER_TYPE_ID": "integer"}), "UF_USR_DEALS").await;
    }
    let team = typed(&s, "UF_TEAM", "string", json!({})).await;
    let mixed = typed(&s, " uf_usr_Mixed_1 ", "string", json!({})).await;
    assert_eq!(field(&s, team).await["FIELD_NAME"], "UF_USR_TEAM");
    assert_eq!(field(&s, mixed).await["FIELD_NAME"], "UF_USR_MIXED_1");

    // FIELD_NAME, USER_TYPE_ID and MULTIPLE are ignored by update; the rest applies.
    update_field(&s, deals, json!({"FIELD_NAME": "other", "USER_TYPE_ID": "integer", "MULTIPLE": "Y", "SORT": 7}))
        .await;
    let f = field(&s, deals).await;
    let kept = [&f["FIELD_NAME"], &f["USER_TYPE_ID"], &f["MULTIPLE"], &f["SORT"]];
    assert_eq!(kept, [&json!("UF_USR_DEALS"), &json!("string"), &json!("N"), &json!("7")]);
    assert_eq!(names_of(&list_fields(&s, json!({})).await).len(), 3);
    // Still a single string field.
    assert_eq!(set_and_read(&s, 1, "UF_USR_DEALS", json!("many")).await, json!("many"));
}

#[tokio::test]
async fn list_filters_by_equality_and_orders() {
    let s = common::start().await;
    let a = typed(&s, "alpha", "string", json!({"SORT": 300})).await;
    let b = typed(&s, "beta", "integer", json!({"SORT": 100})).await;
    let c = typed(&s, "gamma", "string", json!({"SORT": 200, "XML_ID": "g"})).await;
    let names = |items: Vec<Value>| names_of(&items).iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(list_fields(&s, json!({"filter": {"USER_TYPE_ID": "string"}, "order": {"ID": "ASC"}})).await),
        ["UF_USR_ALPHA", "UF_USR_GAMMA"]
    );
    assert_eq!(names(list_fields(&s, json!({"filter": {"FIELD_NAME": "UF_USR_BETA"}})).await), ["UF_USR_BETA"]);
    assert_eq!(names(list_fields(&s, json!({"filter": {"XML_ID": "g"}})).await), ["UF_USR_GAMMA"]);
    assert!(list_fields(&s, json!({"filter": {"FIELD_NAME": "UF_USR_NONE"}})).await.is_empty());
    assert_eq!(
        names(list_fields(&s, json!({"order": {"SORT": "DESC"}})).await),
        ["UF_USR_ALPHA", "UF_USR_GAMMA", "UF_USR_BETA"]
    );
    let by_id: Vec<i64> = list_fields(&s, json!({"order": {"ID": "asc"}})).await.iter().map(id_of).collect();
    assert_eq!(by_id, [a, b, c]);
}

// ---------------------------------------------------------------------------------------
// SETTINGS per type: defaults, bounds, merge on update
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn string_settings() {
    let s = common::start().await;
    settings_round_trip(
        &s,
        "string",
        &[
            (json!({}), json!({"DEFAULT_VALUE": "", "ROWS": 1})),
            (json!({"DEFAULT_VALUE": "n/a", "ROWS": 4}), json!({"DEFAULT_VALUE": "n/a", "ROWS": 4})),
        ],
    )
    .await;
    settings_refused(&s, "string", &[(json!({"ROWS": 0}), "ROWS"), (json!({"ROWS": -2}), "ROWS")]).await;
    let id = typed(&s, "rows", "string", json!({"SETTINGS": {"DEFAULT_VALUE": "x", "ROWS": 2}})).await;
    update_field(&s, id, json!({"SETTINGS": {"ROWS": 6}})).await;
    assert_eq!(settings_of(&s, id).await, json!({"DEFAULT_VALUE": "x", "ROWS": 6}), "update merges");
    refused_update(&s, id, json!({"SORT": 5, "LABEL": "Changed", "SETTINGS": {"ROWS": 0}}), "ROWS").await;
}

#[tokio::test]
async fn integer_and_double_settings() {
    let s = common::start().await;
    settings_round_trip(
        &s,
        "integer",
        &[(json!({}), json!({"DEFAULT_VALUE": ""})), (json!({"DEFAULT_VALUE": 5}), json!({"DEFAULT_VALUE": 5}))],
    )
    .await;
    settings_round_trip(
        &s,
        "double",
        &[
            (json!({}), json!({"DEFAULT_VALUE": "", "PRECISION": 2})),
            (json!({"DEFAULT_VALUE": 1.5, "PRECISION": 0}), json!({"DEFAULT_VALUE": 1.5, "PRECISION": 0})),
        ],
    )
    .await;
    settings_refused(&s, "double", &[(json!({"PRECISION": -1}), "PRECISION")]).await;
    let id = typed(&s, "ratio", "double", json!({"SETTINGS": {"DEFAULT_VALUE": 0.5}})).await;
    update_field(&s, id, json!({"SETTINGS": {"PRECISION": 4}})).await;
    assert_eq!(settings_of(&s, id).await, json!({"DEFAULT_VALUE": 0.5, "PRECISION": 4}));
    refused_update(&s, id, json!({"XML_ID": "changed", "SETTINGS": {"PRECISION": -1}}), "PRECISION").await;
}

#[tokio::test]
async fn boolean_settings_and_multiple_forced_off() {
    let s = common::start().await;
    settings_round_trip(
        &s,
        "boolean",
        &[
            (json!({}), json!({"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX"})),
            (json!({"DEFAULT_VALUE": 5, "DISPLAY": "radio"}), json!({"DEFAULT_VALUE": 1, "DISPLAY": "RADIO"})),
            (json!({"DEFAULT_VALUE": -3, "DISPLAY": "DROPDOWN"}), json!({"DEFAULT_VALUE": 0, "DISPLAY": "DROPDOWN"})),
            (json!({"DEFAULT_VALUE": 1}), json!({"DEFAULT_VALUE": 1, "DISPLAY": "CHECKBOX"})),
        ],
    )
    .await;
    settings_refused(&s, "boolean", &[(json!({"DISPLAY": "FOO"}), "DISPLAY")]).await;
    let id = typed(&s, "flag", "boolean", json!({"MULTIPLE": "Y", "SETTINGS": {"DISPLAY": "RADIO"}})).await;
    assert_eq!(field(&s, id).await["MULTIPLE"], "N");
    update_field(&s, id, json!({"SETTINGS": {"DEFAULT_VALUE": 2}})).await;
    assert_eq!(settings_of(&s, id).await, json!({"DEFAULT_VALUE": 1, "DISPLAY": "RADIO"}));
    refused_update(&s, id, json!({"SETTINGS": {"DISPLAY": "FOO"}}), "DISPLAY").await;
    // A single value, never a list.
    assert_eq!(set_and_read(&s, 1, "UF_USR_FLAG", json!("Y")).await, json!("1"));
}

#[tokio::test]
async fn date_and_datetime_settings() {
    let s = common::start().await;
    for type_id in ["date", "datetime"] {
        let fixed = if type_id == "date" { "2024-02-03" } else { "2024-02-03T04:05:06+00:00" };
        settings_round_trip(
            &s,
            type_id,
            &[
                (json!({}), json!({"DEFAULT_VALUE": {"VALUE": "", "TYPE": "NONE"}})),
                (
                    json!({"DEFAULT_VALUE": {"VALUE": fixed, "TYPE": "fixed"}}),
                    json!({"DEFAULT_VALUE": {"VALUE": fixed, "TYPE": "FIXED"}}),
                ),
                (json!({"DEFAULT_VALUE": {"TYPE": "NOW"}}), json!({"DEFAULT_VALUE": {"VALUE": "", "TYPE": "NOW"}})),
                (json!({"DEFAULT_VALUE": fixed}), json!({"DEFAULT_VALUE": {"VALUE": fixed, "TYPE": "NONE"}})),
            ],
        )
        .await;
        settings_refused(&s, type_id, &[(json!({"DEFAULT_VALUE": {"VALUE": "", "TYPE": "LATER"}}), "DEFAULT_VALUE")])
            .await;
        let id = typed(&s, &format!("{type_id}_upd"), type_id, json!({})).await;
        update_field(&s, id, json!({"SETTINGS": {"DEFAULT_VALUE": {"TYPE": "NOW"}}})).await;
        assert_eq!(settings_of(&s, id).await, json!({"DEFAULT_VALUE": {"VALUE": "", "TYPE": "NOW"}}));
        refused_update(&s, id, json!({"SETTINGS": {"DEFAULT_VALUE": {"TYPE": "LATER"}}}), "DEFAULT_VALUE").await;
    }
}

#[tokio::test]
async fn enumeration_settings_and_items_on_add() {
    let s = common::start().await;
    let enum_settings = |display: &str, height: i64| json!({"DISPLAY": display, "LIST_HEIGHT": height, "CAPTION_NO_VALUE": "", "SHOW_NO_VALUE": "Y"});
    settings_round_trip(
        &s,
        "enumeration",
        &[
            (json!({}), enum_settings("LIST", 1)),
            (json!({"DISPLAY": "ui", "LIST_HEIGHT": 5}), enum_settings("UI", 5)),
            (json!({"DISPLAY": "CHECKBOX"}), enum_settings("CHECKBOX", 1)),
            (json!({"DISPLAY": "DIALOG"}), enum_settings("DIALOG", 1)),
        ],
    )
    .await;
    settings_refused(
        &s,
        "enumeration",
        &[(json!({"LIST_HEIGHT": 0}), "LIST_HEIGHT"), (json!({"DISPLAY": "FOO"}), "DISPLAY")],
    )
    .await;

    // Items: VALUE/SORT/DEF/XML_ID kept, empty VALUE skipped, XML_ID generated, and a
    // single field keeps only the first default.
    let list = json!([
        {"VALUE": "Red", "SORT": 10, "DEF": "Y", "XML_ID": "red"},
        {"VALUE": "Green", "SORT": 20, "DEF": "Y"},
        {"VALUE": ""},
        {"VALUE": "Blue", "SORT": 30},
    ]);
    let single = typed(&s, "color", "enumeration", json!({"LIST": list})).await;
    let items = field(&s, single).await["LIST"].clone();
    let items = items.as_array().cloned().unwrap_or_default();
    let cols = |key: &str| items.iter().map(|i| i[key].clone()).collect::<Vec<_>>();
    assert_eq!(cols("VALUE"), [json!("Red"), json!("Green"), json!("Blue")]);
    assert_eq!(cols("SORT"), [json!("10"), json!("20"), json!("30")]);
    assert_eq!(cols("DEF"), [json!("Y"), json!("N"), json!("N")]);
    assert_eq!(items[0]["XML_ID"], "red");
    assert!(is_hex32(&items[1]["XML_ID"]) && is_hex32(&items[2]["XML_ID"]), "generated XML_IDs: {items:?}");
    assert_ne!(items[1]["XML_ID"], items[2]["XML_ID"]);
    for item in &items {
        let keys: Vec<&str> = item.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(keys.len(), 5, "{item}");
        assert!(id_of(item) > 0, "{item}");
    }
    // A multiple field keeps each item's DEF.
    let many = json!([{"VALUE": "A", "DEF": "Y"}, {"VALUE": "B", "DEF": "Y"}, {"VALUE": "C"}]);
    let multi = typed(&s, "tags", "enumeration", json!({"MULTIPLE": "Y", "LIST": many})).await;
    let defs: Vec<Value> =
        field(&s, multi).await["LIST"].as_array().into_iter().flatten().map(|i| i["DEF"].clone()).collect();
    assert_eq!(defs, [json!("Y"), json!("Y"), json!("N")]);
    // Only enumerations carry LIST.
    let plain = typed(&s, "plain", "string", json!({"LIST": many})).await;
    assert!(field(&s, plain).await.get("LIST").is_none());
    update_field(&s, single, json!({"SETTINGS": {"LIST_HEIGHT": 3}})).await;
    assert_eq!(settings_of(&s, single).await, enum_settings("LIST", 3));
    refused_update(&s, single, json!({"SETTINGS": {"LIST_HEIGHT": 0}}), "LIST_HEIGHT").await;
    refused_update(&s, single, json!({"SETTINGS": {"DISPLAY": "FOO"}}), "DISPLAY").await;
}

#[tokio::test]
async fn enumeration_items_on_update() {
    let s = common::start().await;
    let list = json!([
        {"VALUE": "Red", "SORT": 10, "DEF": "Y", "XML_ID": "red"},
        {"VALUE": "Green", "SORT": 20, "XML_ID": "green"},
        {"VALUE": "Blue", "SORT": 30, "XML_ID": "blue"},
    ]);
    let id = typed(&s, "color", "enumeration", json!({"LIST": list})).await;
    let [red, green, blue] = item_ids(&s, id).await[..] else { panic!("three items expected") };
    update_field(
        &s,
        id,
        json!({"LIST": [
            {"ID": green, "VALUE": "Lime", "SORT": 25},
            {"ID": blue, "DEL": "Y"},
            {"VALUE": "Black", "SORT": 40, "DEF": "Y", "XML_ID": "black"},
        ]}),
    )
    .await;
    let f = field(&s, id).await;
    let items = f["LIST"].as_array().cloned().unwrap_or_default();
    let view: Vec<(String, Value, Value, Value)> = items
        .iter()
        .map(|i| {
            (
                i["VALUE"].as_str().unwrap_or_default().to_owned(),
                i["SORT"].clone(),
                i["DEF"].clone(),
                i["XML_ID"].clone(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("Red".to_owned(), json!("10"), json!("N"), json!("red")),
            ("Lime".to_owned(), json!("25"), json!("N"), json!("green")),
            ("Black".to_owned(), json!("40"), json!("Y"), json!("black")),
        ],
        "updated by ID, deleted by DEL=Y, added without ID, one default: {f}"
    );
    let ids = item_ids(&s, id).await;
    assert_eq!(&ids[..2], [red, green]);
    assert!(!ids.contains(&blue));
    // Making an existing item the default (by ID) clears the other default.
    update_field(&s, id, json!({"LIST": [{"ID": red, "VALUE": "Red", "SORT": 10, "DEF": "Y"}]})).await;
    let defs: Vec<Value> =
        field(&s, id).await["LIST"].as_array().into_iter().flatten().map(|i| i["DEF"].clone()).collect();
    assert_eq!(defs, [json!("Y"), json!("N"), json!("N")]);
    // A deleted item is no longer a value users can hold.
    let r = s.call("user.update", json!({"ID": 1, "UF_USR_COLOR": blue})).await;
    refused(&r, "ERROR_CORE", "UF_USR_COLOR");
}

#[tokio::test]
async fn an_item_update_without_value_leaves_no_empty_item() {
    let s = common::start().await;
    let list = json!([{"VALUE": "Red", "XML_ID": "red"}, {"VALUE": "Green", "DEF": "Y", "XML_ID": "green"}]);
    let id = typed(&s, "color", "enumeration", json!({"LIST": list})).await;
    let red = item_ids(&s, id).await[0];
    // Making Red the default by its ID alone must not turn it into an item with an
    // empty VALUE (items with an empty VALUE are never kept, spec 3.2).
    update_field(&s, id, json!({"LIST": [{"ID": red, "DEF": "Y"}]})).await;
    let f = field(&s, id).await;
    let empty: Vec<&Value> = f["LIST"].as_array().into_iter().flatten().filter(|i| i["VALUE"] == "").collect();
    assert!(empty.is_empty(), "an item lost its VALUE: {}", f["LIST"]);
}

#[tokio::test]
async fn iblock_settings() {
    let s = common::start().await;
    let defaults = json!({"IBLOCK_TYPE_ID": "", "IBLOCK_ID": 0, "DEFAULT_VALUE": "", "DISPLAY": "LIST",
        "LIST_HEIGHT": 1, "ACTIVE_FILTER": "N"});
    let given = json!({"IBLOCK_TYPE_ID": "news", "IBLOCK_ID": 3, "DEFAULT_VALUE": "12", "DISPLAY": "dialog",
        "LIST_HEIGHT": 8, "ACTIVE_FILTER": "Y"});
    let stored = merged(given.clone(), &json!({"DISPLAY": "DIALOG"}));
    for type_id in ["iblock_section", "iblock_element"] {
        settings_round_trip(
            &s,
            type_id,
            &[
                (json!({}), defaults.clone()),
                (given.clone(), stored.clone()),
                (json!({"DISPLAY": "UI"}), merged(defaults.clone(), &json!({"DISPLAY": "UI"}))),
                (json!({"DISPLAY": "CHECKBOX"}), merged(defaults.clone(), &json!({"DISPLAY": "CHECKBOX"}))),
            ],
        )
        .await;
        settings_refused(
            &s,
            type_id,
            &[(json!({"LIST_HEIGHT": 0}), "LIST_HEIGHT"), (json!({"DISPLAY": "FOO"}), "DISPLAY")],
        )
        .await;
        let id = typed(&s, &format!("{type_id}_upd"), type_id, json!({"SETTINGS": given})).await;
        update_field(&s, id, json!({"SETTINGS": {"ACTIVE_FILTER": "N", "IBLOCK_ID": 4}})).await;
        assert_eq!(settings_of(&s, id).await, merged(stored.clone(), &json!({"ACTIVE_FILTER": "N", "IBLOCK_ID": 4})));
        refused_update(&s, id, json!({"SETTINGS": {"LIST_HEIGHT": 0}}), "LIST_HEIGHT").await;
    }
}

#[tokio::test]
async fn crm_and_crm_status_settings() {
    let s = common::start().await;
    settings_round_trip(
        &s,
        "crm",
        &[
            (json!({}), json!({"LEAD": "Y", "CONTACT": "N", "COMPANY": "N", "DEAL": "N"})),
            (json!({"CONTACT": "Y", "DEAL": "Y"}), json!({"LEAD": "N", "CONTACT": "Y", "COMPANY": "N", "DEAL": "Y"})),
            (json!({"COMPANY": "Y", "LEAD": "Y"}), json!({"LEAD": "Y", "CONTACT": "N", "COMPANY": "Y", "DEAL": "N"})),
        ],
    )
    .await;
    settings_round_trip(
        &s,
        "crm_status",
        &[
            (json!({}), json!({"ENTITY_TYPE": ""})),
            (json!({"ENTITY_TYPE": "STATUS"}), json!({"ENTITY_TYPE": "STATUS"})),
        ],
    )
    .await;
    let id = typed(&s, "stage", "crm_status", json!({"SETTINGS": {"ENTITY_TYPE": "STATUS"}})).await;
    update_field(&s, id, json!({"SETTINGS": {"ENTITY_TYPE": "SOURCE"}})).await;
    assert_eq!(settings_of(&s, id).await, json!({"ENTITY_TYPE": "SOURCE"}));
}

#[tokio::test]
async fn file_url_address_money_and_employee_fields() {
    let s = common::start().await;
    for type_id in ["file", "url", "address", "money", "employee"] {
        let id = typed(&s, &format!("t_{type_id}"), type_id, json!({"SETTINGS": {"ROWS": 0}})).await;
        let f = field(&s, id).await;
        assert_eq!(f["USER_TYPE_ID"], type_id);
        if type_id != "money" {
            assert_eq!(f["SETTINGS"], json!([]), "{type_id} has no REST-managed settings");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Values on users
// ---------------------------------------------------------------------------------------

/// One field of each scalar type, named after it.
async fn scalar_fields(s: &Server) {
    for (name, type_id) in [
        ("str", "string"),
        ("int", "integer"),
        ("dbl", "double"),
        ("flag", "boolean"),
        ("day", "date"),
        ("at", "datetime"),
        ("cash", "money"),
        ("site", "url"),
        ("addr", "address"),
        ("boss", "employee"),
        ("deal", "crm"),
        ("stage", "crm_status"),
        ("sect", "iblock_section"),
        ("elem", "iblock_element"),
    ] {
        typed(s, name, type_id, json!({})).await;
    }
}

#[tokio::test]
async fn values_are_coerced_by_type_in_add_and_update() {
    let s = common::start().await;
    scalar_fields(&s).await;
    let given = json!({
        "UF_USR_STR": "hello", "UF_USR_INT": "42", "UF_USR_DBL": 2.5, "UF_USR_FLAG": "Y",
        "UF_USR_DAY": "2024-03-05", "UF_USR_AT": "2024-03-05T10:20:30+02:00", "UF_USR_CASH": "100.50|USD",
        "UF_USR_SITE": "https://example.com/a", "UF_USR_ADDR": "Main St 1|52.5;13.4|7", "UF_USR_BOSS": 1,
        "UF_USR_DEAL": "D_12", "UF_USR_STAGE": "NEW", "UF_USR_SECT": 7, "UF_USR_ELEM": "9",
    });
    let id = s.add_user("val@example.com", given).await;
    let want = json!({
        "UF_USR_STR": "hello", "UF_USR_INT": "42", "UF_USR_DBL": "2.5", "UF_USR_FLAG": "1",
        "UF_USR_DAY": "2024-03-05T00:00:00+00:00", "UF_USR_AT": "2024-03-05T08:20:30+00:00",
        "UF_USR_CASH": "100.50|USD", "UF_USR_SITE": "https://example.com/a", "UF_USR_ADDR": "Main St 1|52.5;13.4|7",
        "UF_USR_BOSS": "1", "UF_USR_DEAL": "D_12", "UF_USR_STAGE": "NEW", "UF_USR_SECT": "7", "UF_USR_ELEM": "9",
    });
    let user = s.user(id).await;
    for (key, value) in want.as_object().into_iter().flatten() {
        assert_eq!(&user[key], value, "{key}");
    }
    let cases = [
        ("UF_USR_FLAG", json!(0), json!("0")),
        ("UF_USR_FLAG", json!(1), json!("1")),
        ("UF_USR_FLAG", json!("N"), json!("0")),
        ("UF_USR_FLAG", json!("Y"), json!("1")),
        ("UF_USR_INT", json!(-7), json!("-7")),
        ("UF_USR_DBL", json!("0.25"), json!("0.25")),
        ("UF_USR_DAY", json!("05.04.2024"), json!("2024-04-05T00:00:00+00:00")),
        ("UF_USR_DAY", json!("2024-04-06T23:00:00+00:00"), json!("2024-04-06T00:00:00+00:00")),
        ("UF_USR_AT", json!("2024-04-05 06:07:08"), json!("2024-04-05T06:07:08+00:00")),
        ("UF_USR_CASH", json!("7|EUR"), json!("7|EUR")),
        // An empty value clears the field: the key leaves the user object.
        ("UF_USR_STR", json!(""), Value::Null),
        ("UF_USR_INT", Value::Null, Value::Null),
    ];
    for (key, raw, shown) in cases {
        assert_eq!(set_and_read(&s, id, key, raw.clone()).await, shown, "{key} = {raw}");
    }
}

#[tokio::test]
async fn boolean_false_is_stored_as_no() {
    let s = common::start().await;
    typed(&s, "flag", "boolean", json!({"SETTINGS": {"DEFAULT_VALUE": 1}})).await;
    let id = s.add_user("flag@example.com", json!({})).await;
    assert_eq!(uf(&s, id, "UF_USR_FLAG").await, json!("1"));
    // JSON false is the boolean "no" (0), not an empty value.
    assert_eq!(set_and_read(&s, id, "UF_USR_FLAG", json!(false)).await, json!("0"));
}

#[tokio::test]
async fn invalid_values_are_refused_and_nothing_is_written() {
    let s = common::start().await;
    scalar_fields(&s).await;
    let color = typed(&s, "color", "enumeration", json!({"LIST": [{"VALUE": "Red"}]})).await;
    let other = typed(&s, "size", "enumeration", json!({"LIST": [{"VALUE": "XL"}]})).await;
    let (red, xl) = (item_ids(&s, color).await[0], item_ids(&s, other).await[0]);
    let id = s.add_user("keep@example.com", json!({"NAME": "Before", "UF_USR_INT": 5, "UF_USR_COLOR": red})).await;
    let before = s.user(id).await;
    let bad = [
        ("UF_USR_INT", json!("abc")),
        ("UF_USR_DBL", json!("abc")),
        ("UF_USR_DAY", json!("not a date")),
        ("UF_USR_AT", json!("later")),
        ("UF_USR_COLOR", json!(99_999)),
        ("UF_USR_COLOR", json!(xl)),
    ];
    for (n, (key, raw)) in bad.iter().enumerate() {
        let r = s.call("user.update", json!({"ID": id, "NAME": "After", *key: raw})).await;
        refused(&r, "ERROR_CORE", key);
        let r = try_add_user(&s, &format!("bad{n}@example.com"), json!({*key: raw})).await;
        refused(&r, "ERROR_ARGUMENT", key);
    }
    let after = s.user(id).await;
    assert_eq!(
        (&after["NAME"], &after["UF_USR_INT"], &after["UF_USR_COLOR"]),
        (&before["NAME"], &json!("5"), &json!(red.to_string()))
    );
    assert!(ids_where(&s, "user.get", json!({"%EMAIL": "bad"})).await.is_empty(), "a refused user.add created a user");
}

#[tokio::test]
async fn enumeration_and_multiple_values() {
    let s = common::start().await;
    let color = typed(&s, "color", "enumeration", json!({"LIST": [{"VALUE": "Red"}, {"VALUE": "Green"}]})).await;
    let tags = json!([{"VALUE": "A"}, {"VALUE": "B"}, {"VALUE": "C"}]);
    let tags = typed(&s, "tags", "enumeration", json!({"MULTIPLE": "Y", "LIST": tags})).await;
    typed(&s, "nicks", "string", json!({"MULTIPLE": "Y"})).await;
    typed(&s, "nums", "integer", json!({"MULTIPLE": "Y"})).await;
    typed(&s, "days", "date", json!({"MULTIPLE": "Y"})).await;
    let [red, green] = item_ids(&s, color).await[..] else { panic!("two items") };
    let [a, _, c] = item_ids(&s, tags).await[..] else { panic!("three items") };
    let id = s
        .add_user(
            "multi@example.com",
            json!({"UF_USR_COLOR": green, "UF_USR_TAGS": [a, c], "UF_USR_NICKS": ["ann", "nan"],
                   "UF_USR_NUMS": [1, "2"], "UF_USR_DAYS": ["2024-01-02", "03.02.2024"]}),
        )
        .await;
    let u = s.user(id).await;
    assert_eq!(u["UF_USR_COLOR"], green.to_string());
    assert_eq!(u["UF_USR_TAGS"], json!([a.to_string(), c.to_string()]));
    assert_eq!(u["UF_USR_NICKS"], json!(["ann", "nan"]));
    assert_eq!(u["UF_USR_NUMS"], json!(["1", "2"]));
    assert_eq!(u["UF_USR_DAYS"], json!(["2024-01-02T00:00:00+00:00", "2024-02-03T00:00:00+00:00"]));
    assert_eq!(set_and_read(&s, id, "UF_USR_COLOR", json!(red.to_string())).await, red.to_string());
    assert_eq!(set_and_read(&s, id, "UF_USR_NICKS", json!("solo")).await, json!(["solo"]));
    assert_eq!(set_and_read(&s, id, "UF_USR_TAGS", json!([c])).await, json!([c.to_string()]));
    assert_eq!(set_and_read(&s, id, "UF_USR_NICKS", json!([])).await, Value::Null);
}

#[tokio::test]
async fn file_values_upload_serve_download_and_remove() {
    let s = common::start().await;
    typed(&s, "doc", "file", json!({})).await;
    let id = s.add_user("file@example.com", json!({"UF_USR_DOC": upload("notes.txt", b"first file")})).await;
    let v = uf(&s, id, "UF_USR_DOC").await;
    let first = v["id"].as_i64().unwrap_or_else(|| panic!("no file id: {v}"));
    assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{v}");
    assert_eq!(v["downloadData"], json!({"id": id, "field": "UF_USR_DOC", "value": first}));
    let shown = fetch(&s, &v["showUrl"]).await;
    assert_eq!((shown.status, shown.bytes.as_slice()), (200, &b"first file"[..]));
    let got = file_get(&s, &s.hook, &v["downloadData"]).await;
    assert_eq!((got.status, got.bytes.as_slice()), (200, &b"first file"[..]));

    // A new upload replaces the single file.
    let v2 = set_and_read(&s, id, "UF_USR_DOC", upload("pic.png", TINY_PNG)).await;
    assert_ne!(v2["id"], json!(first));
    let shown = fetch(&s, &v2["showUrl"]).await;
    assert_eq!((shown.status, shown.bytes.as_slice(), shown.header("content-type")), (200, TINY_PNG, "image/png"));
    assert_eq!(file_get(&s, &s.hook, &v2["downloadData"]).await.bytes, TINY_PNG);
    blank(&file_get(&s, &s.hook, &v["downloadData"]).await, DENIED);
    assert_eq!(fetch(&s, &v["showUrl"]).await.status, 404);
    // Only the triple of a file the user holds in that field is served.
    let wrong = [
        json!({"id": 1, "field": "UF_USR_DOC", "value": v2["id"]}),
        json!({"id": id, "field": "UF_USR_NOPE", "value": v2["id"]}),
    ];
    for data in wrong {
        blank(&file_get(&s, &s.hook, &data).await, DENIED);
    }

    // {"id": N, "remove": "Y"} deletes it.
    assert_eq!(set_and_read(&s, id, "UF_USR_DOC", json!({"id": v2["id"], "remove": "Y"})).await, Value::Null);
    blank(&file_get(&s, &s.hook, &v2["downloadData"]).await, DENIED);
    assert_eq!(fetch(&s, &v2["showUrl"]).await.status, 404);
}

#[tokio::test]
async fn multiple_file_fields_keep_the_files_not_named() {
    let s = common::start().await;
    typed(&s, "docs", "file", json!({"MULTIPLE": "Y"})).await;
    let two = json!([upload("a.txt", b"A"), upload("b.txt", b"B")]);
    let files = set_and_read(&s, 1, "UF_USR_DOCS", two).await;
    let ids: Vec<Value> = files.as_array().into_iter().flatten().map(|f| f["id"].clone()).collect();
    assert_eq!(ids.len(), 2, "{files}");
    let after = set_and_read(&s, 1, "UF_USR_DOCS", json!([{"id": ids[0], "remove": "Y"}])).await;
    assert_eq!(
        after.as_array().map(|a| a.iter().map(|f| f["id"].clone()).collect::<Vec<_>>()),
        Some(vec![ids[1].clone()])
    );
    let after = set_and_read(&s, 1, "UF_USR_DOCS", json!([upload("c.txt", b"C")])).await;
    let list = after.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{after}");
    assert_eq!(list[0]["id"], ids[1]);
    for (f, bytes) in list.iter().zip([&b"B"[..], &b"C"[..]]) {
        assert_eq!(f["downloadData"]["field"], "UF_USR_DOCS");
        assert_eq!(file_get(&s, &s.hook, &f["downloadData"]).await.bytes, bytes);
        assert_eq!(fetch(&s, &f["showUrl"]).await.bytes, bytes);
    }
}

#[tokio::test]
async fn defaults_apply_to_new_users() {
    let s = common::start().await;
    let fields = [
        ("str", "string", json!({"SETTINGS": {"DEFAULT_VALUE": "n/a"}})),
        ("int", "integer", json!({"SETTINGS": {"DEFAULT_VALUE": 5}})),
        ("dbl", "double", json!({"SETTINGS": {"DEFAULT_VALUE": 1.5}})),
        ("on", "boolean", json!({"SETTINGS": {"DEFAULT_VALUE": 1}})),
        ("off", "boolean", json!({})),
        ("color", "enumeration", json!({"LIST": [{"VALUE": "Red", "DEF": "Y"}, {"VALUE": "Green"}]})),
        (
            "tags",
            "enumeration",
            json!({"MULTIPLE": "Y", "LIST": [{"VALUE": "A", "DEF": "Y"}, {"VALUE": "B", "DEF": "Y"}]}),
        ),
        ("day", "date", json!({"SETTINGS": {"DEFAULT_VALUE": {"VALUE": "2024-02-03", "TYPE": "FIXED"}}})),
        (
            "at",
            "datetime",
            json!({"SETTINGS": {"DEFAULT_VALUE": {"VALUE": "2024-02-03T04:05:06+00:00", "TYPE": "FIXED"}}}),
        ),
        ("today", "date", json!({"SETTINGS": {"DEFAULT_VALUE": {"TYPE": "NOW"}}})),
        ("stamp", "datetime", json!({"SETTINGS": {"DEFAULT_VALUE": {"TYPE": "NOW"}}})),
        ("never", "date", json!({"SETTINGS": {"DEFAULT_VALUE": {"VALUE": "2024-02-03", "TYPE": "NONE"}}})),
    ];
    let mut ids = Vec::new();
    for (name, type_id, extra) in fields {
        ids.push(typed(&s, name, type_id, extra).await);
    }
    let (red, tags) = (item_ids(&s, ids[5]).await[0], item_ids(&s, ids[6]).await);
    let r = try_add_user(&s, "dflt@example.com", json!({})).await;
    let id = r.ok().as_i64().unwrap_or_else(|| panic!("{}", r.text()));
    let before = r.json["time"]["date_start"].as_str().unwrap_or_default().to_owned();
    let after = s.call("server.time", json!({})).await.ok().as_str().unwrap_or_default().to_owned();
    let u = s.user(id).await;
    let want = json!({
        "UF_USR_STR": "n/a", "UF_USR_INT": "5", "UF_USR_DBL": "1.5", "UF_USR_ON": "1", "UF_USR_OFF": "0",
        "UF_USR_COLOR": red.to_string(), "UF_USR_TAGS": tags.iter().map(i64::to_string).collect::<Vec<_>>(),
        "UF_USR_DAY": "2024-02-03T00:00:00+00:00", "UF_USR_AT": "2024-02-03T04:05:06+00:00",
        "UF_USR_TODAY": format!("{}T00:00:00+00:00", &before[..10]),
    });
    for (key, value) in want.as_object().into_iter().flatten() {
        assert_eq!(&u[key], value, "{key}");
    }
    let stamp = u["UF_USR_STAMP"].as_str().unwrap_or_default();
    assert!(
        common::is_iso(stamp) && before.as_str() <= stamp && stamp <= after.as_str(),
        "NOW: {stamp} not in {before}..{after}"
    );
    assert!(u.get("UF_USR_NEVER").is_none(), "TYPE=NONE sets nothing: {u}");

    // Given values win; users that existed before the fields get no defaults.
    let id = s.add_user("given@example.com", json!({"UF_USR_STR": "mine", "UF_USR_ON": "N", "UF_USR_INT": 9})).await;
    let u = s.user(id).await;
    assert_eq!([&u["UF_USR_STR"], &u["UF_USR_ON"], &u["UF_USR_INT"]], [&json!("mine"), &json!("0"), &json!("9")]);
    assert!(s.user(1).await.get("UF_USR_STR").is_none());
}

#[tokio::test]
async fn mandatory_fields_are_enforced_with_their_error_message() {
    let s = common::start().await;
    let messages = json!({"en": "Badge number needed", "ru": "Нужен номер", "de": "Ausweisnummer fehlt"});
    let badge =
        typed(&s, "badge", "string", json!({"MANDATORY": "Y", "LABEL": "Badge", "ERROR_MESSAGE": messages})).await;
    try_add_user(&s, "m@example.com", json!({})).await.argument("Badge number needed", "");
    try_add_user(&s, "m@example.com", json!({"LANG": "de"})).await.argument("Ausweisnummer fehlt", "");
    try_add_user(&s, "m@example.com", json!({"UF_USR_BADGE": "  "})).await.argument("Badge number needed", "");
    assert!(ids_where(&s, "user.get", json!({"EMAIL": "m@example.com"})).await.is_empty());

    let id = s.add_user("m@example.com", json!({"UF_USR_BADGE": "B-7"})).await;
    s.update(json!({"ID": id, "NAME": "Mia"})).await;
    let r = s.call("user.update", json!({"ID": id, "UF_USR_BADGE": ""})).await;
    r.err(400, "ERROR_CORE", Some("Badge number needed"));
    let r = s.call("user.update", json!({"ID": id, "UF_USR_BADGE": null, "LANG": "ru"})).await;
    r.err(400, "ERROR_CORE", Some("Нужен номер"));
    assert_eq!(uf(&s, id, "UF_USR_BADGE").await, "B-7");

    update_field(&s, badge, json!({"MANDATORY": "N"})).await;
    assert_eq!(set_and_read(&s, id, "UF_USR_BADGE", json!("")).await, Value::Null);
    s.add_user("n@example.com", json!({})).await;
}

#[tokio::test]
async fn double_values_keep_the_precision() {
    let s = common::start().await;
    typed(&s, "ratio", "double", json!({})).await;
    typed(&s, "coarse", "double", json!({"SETTINGS": {"PRECISION": 1}})).await;
    typed(&s, "whole", "double", json!({"SETTINGS": {"PRECISION": 0}})).await;
    let id = s
        .add_user("dbl@example.com", json!({"UF_USR_RATIO": 1.23456, "UF_USR_COARSE": "2.26", "UF_USR_WHOLE": 7.6}))
        .await;
    let u = s.user(id).await;
    // PRECISION (default 2) is the number of decimals a value keeps.
    assert_eq!(
        [&u["UF_USR_RATIO"], &u["UF_USR_COARSE"], &u["UF_USR_WHOLE"]],
        [&json!("1.23"), &json!("2.3"), &json!("8")],
        "{u}"
    );
}

#[tokio::test]
async fn a_mandatory_file_field_cannot_be_emptied() {
    let s = common::start().await;
    typed(&s, "photo_id", "file", json!({"MANDATORY": "Y", "ERROR_MESSAGE": "An ID photo is required"})).await;
    try_add_user(&s, "nofile@example.com", json!({})).await.argument("An ID photo is required", "");
    let id = s.add_user("file@example.com", json!({"UF_USR_PHOTO_ID": upload("id.png", TINY_PNG)})).await;
    let file = uf(&s, id, "UF_USR_PHOTO_ID").await;
    // Removing the only file sets the field empty: refused like an empty value.
    let r = s.call("user.update", json!({"ID": id, "UF_USR_PHOTO_ID": {"id": file["id"], "remove": "Y"}})).await;
    r.err(400, "ERROR_CORE", Some("An ID photo is required"));
    assert_eq!(uf(&s, id, "UF_USR_PHOTO_ID").await, file);
}

#[tokio::test]
async fn an_invalid_value_is_refused_with_the_fields_error_message() {
    let s = common::start().await;
    let messages = json!({"en": "Give a whole number", "de": "Ganze Zahl angeben"});
    typed(&s, "age", "integer", json!({"ERROR_MESSAGE": messages})).await;
    // Seed 003: ERROR_MESSAGE is "the error message on invalid input".
    let r = s.call("user.update", json!({"ID": 1, "UF_USR_AGE": "abc"})).await;
    refused(&r, "ERROR_CORE", "Give a whole number");
    let r = s.call("user.update", json!({"ID": 1, "UF_USR_AGE": "abc", "LANG": "de"})).await;
    refused(&r, "ERROR_CORE", "Ganze Zahl angeben");
    refused(
        &try_add_user(&s, "age@example.com", json!({"UF_USR_AGE": "abc"})).await,
        "ERROR_ARGUMENT",
        "Give a whole number",
    );
}

#[tokio::test]
async fn every_read_method_carries_custom_fields_and_their_labels() {
    let s = common::start().await;
    let labels = json!({"en": "Team", "ru": "Команда", "de": "Mannschaft"});
    typed(&s, "team", "string", json!({"EDIT_FORM_LABEL": labels})).await;
    typed(&s, "level", "integer", json!({"LABEL": "Level"})).await;
    let id = s.add_user("rita@example.com", json!({"NAME": "Rita", "UF_USR_TEAM": "Red", "UF_USR_LEVEL": 3})).await;
    let u = s.user(id).await;
    assert_eq!((&u["UF_USR_TEAM"], &u["UF_USR_LEVEL"]), (&json!("Red"), &json!("3")));
    let found = s.call("user.search", json!({"FIND": "Rita"})).await;
    assert_eq!(found.ok()[0]["UF_USR_TEAM"], "Red", "{}", found.text());
    s.update(json!({"ID": 1, "UF_USR_TEAM": "Blue"})).await;
    assert_eq!(s.call("user.current", json!({})).await.ok()["UF_USR_TEAM"], "Blue");

    // user.fields: labels in LANG, else the server's default (en).
    for (params, team, level) in [
        (json!({}), "Team", "Level"),
        (json!({"LANG": "de"}), "Mannschaft", "Level"),
        (json!({"lang": "ru"}), "Команда", "Level"),
    ] {
        let r = s.call("user.fields", params.clone()).await;
        let f = r.ok();
        assert_eq!((&f["UF_USR_TEAM"], &f["UF_USR_LEVEL"]), (&json!(team), &json!(level)), "{params}");
    }
    // A plain user with the `user` scope sees them too.
    let (_, hook) = s.plain_user("pat@example.com", "Pat").await;
    let r = s.call_as(&hook, "user.get", json!({"ID": id})).await;
    assert_eq!(r.ok()[0]["UF_USR_TEAM"], "Red");
    assert_eq!(s.call_as(&hook, "user.fields", json!({})).await.ok()["UF_USR_TEAM"], "Team");
}

#[tokio::test]
async fn user_get_filters_on_custom_fields() {
    let s = common::start().await;
    typed(&s, "team", "string", json!({})).await;
    typed(&s, "level", "integer", json!({})).await;
    typed(&s, "hired", "date", json!({})).await;
    typed(&s, "vip", "boolean", json!({})).await;
    typed(&s, "seen", "datetime", json!({})).await;
    let color =
        typed(&s, "color", "enumeration", json!({"LIST": [{"VALUE": "Red"}, {"VALUE": "Green"}, {"VALUE": "Blue"}]}))
            .await;
    let [red, green, blue] = item_ids(&s, color).await[..] else { panic!("three items") };
    let rows = [
        json!({"UF_USR_TEAM": "Red Sox", "UF_USR_LEVEL": 10, "UF_USR_COLOR": red, "UF_USR_HIRED": "2023-05-01", "UF_USR_VIP": "Y",
               "UF_USR_SEEN": "2024-01-01T10:00:00+00:00"}),
        json!({"UF_USR_TEAM": "Blue Jays", "UF_USR_LEVEL": 9, "UF_USR_COLOR": green, "UF_USR_HIRED": "2024-02-01", "UF_USR_VIP": "N",
               "UF_USR_SEEN": "2024-01-01T12:00:00+02:00"}),
        json!({"UF_USR_TEAM": "red sox", "UF_USR_LEVEL": 2, "UF_USR_COLOR": blue, "UF_USR_HIRED": "2024-06-01", "UF_USR_VIP": 1}),
        json!({"NAME": "Nobody"}),
    ];
    let mut ids = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        ids.push(s.add_user(&format!("f{n}@example.com"), row).await);
    }
    let [a, b, c, d] = ids[..] else { unreachable!() };
    let cases = [
        (json!({"UF_USR_TEAM": "red sox"}), vec![a, c]),
        (json!({"%UF_USR_TEAM": "jay"}), vec![b]),
        (json!({"!UF_USR_TEAM": "Blue Jays", ">ID": 1}), vec![a, c, d]),
        (json!({"UF_USR_LEVEL": 9}), vec![b]),
        (json!({">UF_USR_LEVEL": 5}), vec![a, b]),
        (json!({"<UF_USR_LEVEL": 10}), vec![b, c]),
        (json!({">=UF_USR_LEVEL": "10"}), vec![a]),
        (json!({"!UF_USR_LEVEL": 9, ">ID": 1}), vec![a, c, d]),
        (json!({"UF_USR_COLOR": green}), vec![b]),
        (json!({"UF_USR_COLOR": [red, blue]}), vec![a, c]),
        (json!({"@UF_USR_COLOR": [green, blue]}), vec![b, c]),
        (json!({">UF_USR_HIRED": "2024-01-01"}), vec![b, c]),
        (json!({"UF_USR_HIRED": "2023-05-01"}), vec![a]),
        (json!({"UF_USR_SEEN": "2024-01-01T10:00:00+00:00"}), vec![a, b]),
        (json!({">UF_USR_SEEN": "2024-01-01 09:59:59"}), vec![a, b]),
        (json!({"<UF_USR_SEEN": "2024-01-01T10:00:00+00:00"}), vec![]),
        (json!({"UF_USR_VIP": "Y"}), vec![a, c]),
        (json!({"UF_USR_VIP": 0}), vec![b, d]),
        (json!({"UF_USR_VIP": "Y", ">UF_USR_LEVEL": 5}), vec![a]),
        (json!({"UF_USR_LEVEL": "abc"}), vec![]),
    ];
    for (filter, want) in cases {
        assert_eq!(ids_where(&s, "user.get", filter.clone()).await, want, "user.get {filter}");
    }
    assert_eq!(ids_where(&s, "user.search", json!({"UF_USR_COLOR": green})).await, [b]);
    // Without FILTER the top-level keys filter too.
    let r = s.call("user.get", json!({"UF_USR_TEAM": "Blue Jays"})).await;
    assert_eq!(r.ids(), [b]);
}

#[tokio::test]
async fn deleting_a_field_deletes_its_values() {
    let s = common::start().await;
    let team = typed(&s, "team", "string", json!({})).await;
    let doc = typed(&s, "doc", "file", json!({})).await;
    let id =
        s.add_user("del@example.com", json!({"UF_USR_TEAM": "Red", "UF_USR_DOC": upload("d.txt", b"bytes")})).await;
    let file = uf(&s, id, "UF_USR_DOC").await;
    assert_eq!(fetch(&s, &file["showUrl"]).await.status, 200);

    for field_id in [team, doc] {
        let r = s.call("user.userfield.delete", json!({"id": field_id})).await;
        assert_eq!(r.ok(), &json!(true));
    }
    assert!(list_fields(&s, json!({})).await.is_empty());
    let u = s.user(id).await;
    assert!(u.get("UF_USR_TEAM").is_none() && u.get("UF_USR_DOC").is_none(), "{u}");
    let fields = s.call("user.fields", json!({})).await;
    assert!(fields.ok().get("UF_USR_TEAM").is_none());
    assert_eq!(fetch(&s, &file["showUrl"]).await.status, 404, "the file went with the field");

    // A field re-created with the same name starts empty.
    typed(&s, "team", "string", json!({})).await;
    assert_eq!(uf(&s, id, "UF_USR_TEAM").await, Value::Null);
    assert!(ids_where(&s, "user.get", json!({"UF_USR_TEAM": "Red"})).await.is_empty());
    assert_eq!(set_and_read(&s, id, "UF_USR_TEAM", json!("Green")).await, "Green");
}
