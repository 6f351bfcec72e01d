//! Custom user fields on SQLite: definitions (settings and labels as JSON text),
//! enumeration items, and per-user values (`text_value`, `num_value` for numeric types).
//! Called from the `Store` impl in `ops.rs`, inside reader or writer connections.

use std::collections::BTreeMap;

use roster_core::credentials::random_hex;
use roster_core::userfields::{EnumItem, ItemChange, Labels};
use roster_core::{
    CustomChange, CustomValue, EnumItemId, FieldId, FieldType, FileId, NewUserField, StoreError, StoreResult,
    UserField, UserFieldPatch, UserId,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::backend;

const FIELD_COLUMNS: &str = "id, name, type_id, xml_id, sort, multiple, mandatory, show_filter, show_in_list, \
     edit_in_list, is_searchable, settings, labels";

pub(crate) fn load_fields(c: &Connection) -> StoreResult<Vec<UserField>> {
    let sql = format!("SELECT {FIELD_COLUMNS} FROM user_fields ORDER BY sort, id");
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                [
                    r.get::<_, bool>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, bool>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, bool>(10)?,
                ],
                r.get::<_, String>(7)?,
                r.get::<_, String>(11)?,
                r.get::<_, String>(12)?,
            ))
        })
        .map_err(backend)?;
    let mut fields = Vec::new();
    for row in rows {
        let (id, name, type_id, xml_id, sort, flags, show_filter, settings, labels) = row.map_err(backend)?;
        let Some(id) = FieldId::new(id) else { continue };
        let [multiple, mandatory, show_in_list, edit_in_list, is_searchable] = flags;
        fields.push(UserField {
            id,
            name,
            type_id: FieldType::parse(&type_id).unwrap_or(FieldType::String),
            xml_id,
            sort,
            multiple,
            mandatory,
            show_filter,
            show_in_list,
            edit_in_list,
            is_searchable,
            settings: serde_json::from_str(&settings).unwrap_or(serde_json::Value::Null),
            labels: serde_json::from_str::<Labels>(&labels).unwrap_or_default(),
            items: Vec::new(),
        });
    }
    if fields.iter().any(|f| f.type_id == FieldType::Enumeration) {
        let mut stmt = c
            .prepare_cached("SELECT id, field_id, value, sort, def, xml_id FROM user_field_items ORDER BY sort, id")
            .map_err(backend)?;
        let items = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(backend)?;
        for item in items {
            let (id, field, value, sort, def, xml_id) = item.map_err(backend)?;
            if let (Some(id), Some(f)) = (EnumItemId::new(id), fields.iter_mut().find(|f| f.id.get() == field)) {
                f.items.push(EnumItem { id, value, sort, def, xml_id });
            }
        }
    }
    Ok(fields)
}

fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn insert_field(c: &Connection, f: NewUserField) -> StoreResult<FieldId> {
    let taken =
        c.query_row("SELECT 1 FROM user_fields WHERE name = ?1", [&f.name], |_| Ok(())).optional().map_err(backend)?;
    if taken.is_some() {
        return Err(StoreError::Taken("field"));
    }
    c.execute(
        "INSERT INTO user_fields (name, type_id, xml_id, sort, multiple, mandatory, show_filter, show_in_list, \
         edit_in_list, is_searchable, settings, labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            f.name,
            f.type_id.code(),
            f.xml_id,
            f.sort,
            f.multiple,
            f.mandatory,
            f.show_filter,
            f.show_in_list,
            f.edit_in_list,
            f.is_searchable,
            json_text(&f.settings)?,
            json_text(&f.labels)?
        ],
    )
    .map_err(backend)?;
    let id = FieldId::new(c.last_insert_rowid()).ok_or_else(|| StoreError::Backend("bad rowid".into()))?;
    apply_items(c, id, &f.items)?;
    Ok(id)
}

fn apply_items(c: &Connection, field: FieldId, items: &[ItemChange]) -> StoreResult<()> {
    for item in items {
        match item.id {
            Some(id) if item.delete => {
                c.execute("DELETE FROM user_field_items WHERE id = ?1 AND field_id = ?2", [id.get(), field.get()])
                    .map_err(backend)?;
            }
            Some(id) => {
                // What an item change leaves out keeps its stored value; an empty value is ignored.
                let value = item.value.as_deref().filter(|v| !v.is_empty());
                c.execute(
                    "UPDATE user_field_items SET value = coalesce(?1, value), sort = coalesce(?2, sort), \
                     def = coalesce(?3, def), xml_id = coalesce(?4, xml_id) WHERE id = ?5 AND field_id = ?6",
                    params![value, item.sort, item.def, item.xml_id, id.get(), field.get()],
                )
                .map_err(backend)?;
            }
            None if item.delete || item.value.as_deref().is_none_or(str::is_empty) => {}
            None => {
                let xml_id = item.xml_id.clone().unwrap_or_else(hex_id);
                c.execute(
                    "INSERT INTO user_field_items (field_id, value, sort, def, xml_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![field.get(), item.value, item.sort.unwrap_or(500), item.def.unwrap_or(false), xml_id],
                )
                .map_err(backend)?;
            }
        }
    }
    Ok(())
}

/// 32 hexadecimal characters, as portals generate for enumeration items.
fn hex_id() -> String {
    random_hex(16)
}

pub(crate) fn update_field(c: &Connection, id: FieldId, p: UserFieldPatch) -> StoreResult<()> {
    let stored: Option<String> = c
        .query_row("SELECT labels FROM user_fields WHERE id = ?1", [id.get()], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let Some(stored) = stored else { return Err(StoreError::Missing("field")) };
    let mut labels: Labels = serde_json::from_str(&stored).unwrap_or_default();
    for (key, texts) in p.labels {
        labels.insert(key, texts);
    }
    let mut sets = vec!["labels = ?".to_owned()];
    let mut vals = vec![SqlValue::Text(json_text(&labels)?)];
    let mut put = |col: &str, v: SqlValue| {
        sets.push(format!("{col} = ?"));
        vals.push(v);
    };
    if let Some(x) = p.xml_id {
        put("xml_id", x.map_or(SqlValue::Null, SqlValue::Text));
    }
    if let Some(s) = p.sort {
        put("sort", SqlValue::Integer(s));
    }
    for (col, v) in [
        ("mandatory", p.mandatory),
        ("show_in_list", p.show_in_list),
        ("edit_in_list", p.edit_in_list),
        ("is_searchable", p.is_searchable),
    ] {
        if let Some(b) = v {
            put(col, SqlValue::Integer(i64::from(b)));
        }
    }
    if let Some(sf) = p.show_filter {
        put("show_filter", SqlValue::Text(sf));
    }
    if let Some(s) = p.settings {
        put("settings", SqlValue::Text(json_text(&s)?));
    }
    vals.push(SqlValue::Integer(id.get()));
    c.execute(&format!("UPDATE user_fields SET {} WHERE id = ?", sets.join(", ")), params_from_iter(vals))
        .map_err(backend)?;
    apply_items(c, id, &p.items)
}

pub(crate) fn delete_field(c: &Connection, id: FieldId) -> StoreResult<()> {
    let type_id: Option<String> = c
        .query_row("SELECT type_id FROM user_fields WHERE id = ?1", [id.get()], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    match type_id.as_deref() {
        None => return Err(StoreError::Missing("field")),
        Some("file") => {
            c.execute(
                "DELETE FROM files WHERE id IN (SELECT CAST(text_value AS INTEGER) FROM user_uf_values WHERE field_id = ?1)",
                [id.get()],
            )
            .map_err(backend)?;
        }
        Some(_) => {}
    }
    c.execute("DELETE FROM user_uf_values WHERE field_id = ?1", [id.get()]).map_err(backend)?;
    c.execute("DELETE FROM user_field_items WHERE field_id = ?1", [id.get()]).map_err(backend)?;
    c.execute("DELETE FROM user_fields WHERE id = ?1", [id.get()]).map_err(backend)?;
    Ok(())
}

/// A user's custom values, field by field.
pub(crate) type UserValues = Vec<(FieldId, Vec<CustomValue>)>;

/// Values of every custom field of these users: user id -> (field, values) in field order.
pub(crate) fn load_values(c: &Connection, users: &[i64]) -> StoreResult<BTreeMap<i64, UserValues>> {
    let mut out: BTreeMap<i64, UserValues> = BTreeMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; users.len()].join(", ");
    let sql = format!(
        "SELECT user_id, field_id, text_value, num_value FROM user_uf_values WHERE user_id IN ({marks}) \
         ORDER BY user_id, field_id, seq"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(users.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<f64>>(3)?))
        })
        .map_err(backend)?;
    for row in rows {
        let (user, field, text, num) = row.map_err(backend)?;
        let Some(field) = FieldId::new(field) else { continue };
        let list = out.entry(user).or_default();
        let value = CustomValue { text, num };
        match list.last_mut() {
            Some((f, values)) if *f == field => values.push(value),
            _ => list.push((field, vec![value])),
        }
    }
    Ok(out)
}

/// Writes custom value changes of one user (inside the caller's transaction).
pub(crate) fn apply_values(c: &Connection, user: UserId, changes: Vec<(FieldId, CustomChange)>) -> StoreResult<()> {
    for (field, change) in changes {
        let values = match change {
            CustomChange::Set(values) => values,
            CustomChange::Files { add, remove, replace } => {
                let mut kept: Vec<CustomValue> = Vec::new();
                let mut stmt = c
                    .prepare_cached("SELECT text_value, num_value FROM user_uf_values WHERE user_id = ?1 AND field_id = ?2 ORDER BY seq")
                    .map_err(backend)?;
                let rows = stmt
                    .query_map([user.get(), field.get()], |r| Ok(CustomValue { text: r.get(0)?, num: r.get(1)? }))
                    .map_err(backend)?;
                for row in rows {
                    let v = row.map_err(backend)?;
                    let id = v.text.parse::<i64>().ok().and_then(FileId::new);
                    if replace || id.is_some_and(|id| remove.contains(&id)) {
                        if let Some(id) = id {
                            c.execute("DELETE FROM files WHERE id = ?1", [id.get()]).map_err(backend)?;
                        }
                    } else {
                        kept.push(v);
                    }
                }
                for file in add {
                    kept.push(CustomValue::file(super::ops::insert_file(c, file)?));
                }
                kept
            }
        };
        c.prepare_cached("DELETE FROM user_uf_values WHERE user_id = ?1 AND field_id = ?2")
            .and_then(|mut s| s.execute([user.get(), field.get()]))
            .map_err(backend)?;
        let mut ins = c
            .prepare_cached(
                "INSERT INTO user_uf_values (user_id, field_id, seq, text_value, num_value) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend)?;
        for (seq, v) in values.into_iter().enumerate() {
            ins.execute(params![user.get(), field.get(), seq as i64, v.text, v.num]).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Missing("field")
                }
                other => backend(other),
            })?;
        }
    }
    Ok(())
}
