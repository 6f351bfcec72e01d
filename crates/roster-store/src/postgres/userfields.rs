//! Custom user fields on PostgreSQL, as on SQLite: definitions (settings and labels as
//! JSON text), enumeration items, and per-user values (`text_value`, and `num_value` for
//! numeric types). Called from the `Store` impl in `store.rs` and from user writes in
//! `ops.rs`, inside their transaction.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use roster_core::credentials::random_hex;
use roster_core::userfields::{EnumItem, ItemChange, Labels};
use roster_core::{
    CustomChange, CustomValue, EnumItemId, FieldId, FieldType, FileId, NewUserField, StoreError, StoreResult,
    UserField, UserFieldPatch, UserId,
};
use tokio_postgres::Row;

use super::sql::{col, refs, Binds, Param};
use super::{execute, new_id, number, ops, query};

const FIELD_COLUMNS: &str = "id, name, type_id, xml_id, sort, multiple, mandatory, show_filter, \
     show_in_list, edit_in_list, is_searchable, settings, labels";

fn field_from_row(r: &Row) -> StoreResult<Option<UserField>> {
    let Some(id) = FieldId::new(col(r, 0)?) else {
        return Ok(None);
    };
    let (settings, labels): (String, String) = (col(r, 11)?, col(r, 12)?);
    Ok(Some(UserField {
        id,
        name: col(r, 1)?,
        type_id: FieldType::parse(&col::<String>(r, 2)?).unwrap_or(FieldType::String),
        xml_id: col(r, 3)?,
        sort: col(r, 4)?,
        multiple: col(r, 5)?,
        mandatory: col(r, 6)?,
        show_filter: col(r, 7)?,
        show_in_list: col(r, 8)?,
        edit_in_list: col(r, 9)?,
        is_searchable: col(r, 10)?,
        settings: serde_json::from_str(&settings).unwrap_or(serde_json::Value::Null),
        labels: serde_json::from_str::<Labels>(&labels).unwrap_or_default(),
        items: Vec::new(),
    }))
}

pub(crate) async fn load_fields<C: GenericClient>(c: &C) -> StoreResult<Vec<UserField>> {
    let sql = format!("SELECT {FIELD_COLUMNS} FROM user_fields ORDER BY sort, id");
    let mut fields = Vec::new();
    for r in query(c, &sql, &[]).await? {
        fields.extend(field_from_row(&r)?);
    }
    if fields.iter().any(|f| f.type_id == FieldType::Enumeration) {
        let sql = "SELECT id, field_id, value, sort, def, xml_id FROM user_field_items \
                   ORDER BY sort, id";
        for r in query(c, sql, &[]).await? {
            let (id, field): (i64, i64) = (col(&r, 0)?, col(&r, 1)?);
            if let (Some(id), Some(f)) = (EnumItemId::new(id), fields.iter_mut().find(|f| f.id.get() == field)) {
                f.items.push(EnumItem {
                    id,
                    value: col(&r, 2)?,
                    sort: col(&r, 3)?,
                    def: col(&r, 4)?,
                    xml_id: col(&r, 5)?,
                });
            }
        }
    }
    Ok(fields)
}

fn json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) async fn insert_field<C: GenericClient>(c: &C, f: NewUserField) -> StoreResult<FieldId> {
    let taken = "SELECT 1 FROM user_fields WHERE name = $1";
    if !query(c, taken, &[&f.name]).await?.is_empty() {
        return Err(StoreError::Taken("field"));
    }
    let sql = "INSERT INTO user_fields (name, type_id, xml_id, sort, multiple, mandatory, \
               show_filter, show_in_list, edit_in_list, is_searchable, settings, labels) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
    let (settings, labels) = (json_text(&f.settings)?, json_text(&f.labels)?);
    let id = number(
        c,
        sql,
        &[
            &f.name,
            &f.type_id.code(),
            &f.xml_id,
            &f.sort,
            &f.multiple,
            &f.mandatory,
            &f.show_filter,
            &f.show_in_list,
            &f.edit_in_list,
            &f.is_searchable,
            &settings,
            &labels,
        ],
    )
    .await?;
    let id = new_id(FieldId::new, id)?;
    apply_items(c, id, &f.items).await?;
    Ok(id)
}

async fn apply_items<C: GenericClient>(c: &C, field: FieldId, items: &[ItemChange]) -> StoreResult<()> {
    for item in items {
        match item.id {
            Some(id) if item.delete => {
                let sql = "DELETE FROM user_field_items WHERE id = $1 AND field_id = $2";
                execute(c, sql, &[&id.get(), &field.get()]).await?;
            }
            Some(id) => {
                // What an item change leaves out keeps its stored value; an empty value is ignored.
                let value = item.value.as_deref().filter(|v| !v.is_empty());
                let sql = "UPDATE user_field_items SET value = coalesce($1, value), \
                           sort = coalesce($2, sort), def = coalesce($3, def), \
                           xml_id = coalesce($4, xml_id) WHERE id = $5 AND field_id = $6";
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
                    [&value, &item.sort, &item.def, &item.xml_id, &id.get(), &field.get()];
                execute(c, sql, &params).await?;
            }
            None if item.delete || item.value.as_deref().is_none_or(str::is_empty) => {}
            None => {
                let xml_id = item.xml_id.clone().unwrap_or_else(|| random_hex(16));
                let sql = "INSERT INTO user_field_items (field_id, value, sort, def, xml_id) \
                           VALUES ($1, $2, $3, $4, $5)";
                let (sort, def) = (item.sort.unwrap_or(500), item.def.unwrap_or(false));
                execute(c, sql, &[&field.get(), &item.value, &sort, &def, &xml_id]).await?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn update_field<C: GenericClient>(c: &C, id: FieldId, p: UserFieldPatch) -> StoreResult<()> {
    let rows = query(c, "SELECT labels FROM user_fields WHERE id = $1", &[&id.get()]).await?;
    let Some(row) = rows.first() else {
        return Err(StoreError::Missing("field"));
    };
    let mut labels: Labels = serde_json::from_str(&col::<String>(row, 0)?).unwrap_or_default();
    for (key, texts) in p.labels {
        labels.insert(key, texts);
    }
    let mut b = Binds::default();
    let mut sets = vec![format!("labels = {}", b.bind(Param::Text(json_text(&labels)?)))];
    let mut put = |col: &str, v: Param| sets.push(format!("{col} = {}", b.bind(v)));
    if let Some(x) = p.xml_id {
        put("xml_id", x.map_or(Param::Null, Param::Text));
    }
    if let Some(s) = p.sort {
        put("sort", Param::Int(s));
    }
    for (col, v) in [
        ("mandatory", p.mandatory),
        ("show_in_list", p.show_in_list),
        ("edit_in_list", p.edit_in_list),
        ("is_searchable", p.is_searchable),
    ] {
        if let Some(v) = v {
            put(col, Param::Bool(v));
        }
    }
    if let Some(sf) = p.show_filter {
        put("show_filter", Param::Text(sf));
    }
    if let Some(s) = p.settings {
        put("settings", Param::Text(json_text(&s)?));
    }
    let target = b.bind(Param::Int(id.get()));
    let sql = format!("UPDATE user_fields SET {} WHERE id = {target}", sets.join(", "));
    execute(c, &sql, &refs(&b.0)).await?;
    apply_items(c, id, &p.items).await
}

pub(crate) async fn delete_field<C: GenericClient>(c: &C, id: FieldId) -> StoreResult<()> {
    let rows = query(c, "SELECT type_id FROM user_fields WHERE id = $1", &[&id.get()]).await?;
    let Some(row) = rows.first() else {
        return Err(StoreError::Missing("field"));
    };
    if col::<String>(row, 0)? == "file" {
        // Values of a file field are file ids as text; parsed here rather than cast in SQL,
        // where a stray non-number would fail the statement.
        let sql = "SELECT text_value FROM user_uf_values WHERE field_id = $1";
        for r in query(c, sql, &[&id.get()]).await? {
            if let Ok(file) = col::<String>(&r, 0)?.trim().parse::<i64>() {
                execute(c, "DELETE FROM files WHERE id = $1", &[&file]).await?;
            }
        }
    }
    for sql in [
        "DELETE FROM user_uf_values WHERE field_id = $1",
        "DELETE FROM user_field_items WHERE field_id = $1",
        "DELETE FROM user_fields WHERE id = $1",
    ] {
        execute(c, sql, &[&id.get()]).await?;
    }
    Ok(())
}

/// A user's custom values, field by field.
pub(crate) type UserValues = Vec<(FieldId, Vec<CustomValue>)>;

/// Values of every custom field of these users: user id -> (field, values) in field order.
pub(crate) async fn load_values<C: GenericClient>(c: &C, users: &[i64]) -> StoreResult<BTreeMap<i64, UserValues>> {
    let mut out: BTreeMap<i64, UserValues> = BTreeMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let mut b = Binds::default();
    let list = b.list(users.iter().map(|u| Param::Int(*u)));
    let sql = format!(
        "SELECT user_id, field_id, text_value, num_value FROM user_uf_values \
         WHERE user_id IN ({list}) ORDER BY user_id, field_id, seq"
    );
    for r in query(c, &sql, &refs(&b.0)).await? {
        let Some(field) = FieldId::new(col(&r, 1)?) else {
            continue;
        };
        let list = out.entry(col(&r, 0)?).or_default();
        let value = CustomValue { text: col(&r, 2)?, num: col(&r, 3)? };
        match list.last_mut() {
            Some((f, values)) if *f == field => values.push(value),
            _ => list.push((field, vec![value])),
        }
    }
    Ok(out)
}

/// Writes custom value changes of one user (inside the caller's transaction).
pub(crate) async fn apply_values<C: GenericClient>(
    c: &C,
    user: UserId,
    changes: Vec<(FieldId, CustomChange)>,
) -> StoreResult<()> {
    let (uid, select) = (
        user.get(),
        "SELECT text_value, num_value FROM user_uf_values WHERE user_id = $1 AND field_id = $2 \
         ORDER BY seq",
    );
    for (field, change) in changes {
        let fid = field.get();
        let values = match change {
            CustomChange::Set(values) => values,
            CustomChange::Files { add, remove, replace } => {
                let mut kept: Vec<CustomValue> = Vec::new();
                for r in query(c, select, &[&uid, &fid]).await? {
                    let v = CustomValue { text: col(&r, 0)?, num: col(&r, 1)? };
                    let id = v.text.parse::<i64>().ok().and_then(FileId::new);
                    if replace || id.is_some_and(|id| remove.contains(&id)) {
                        if let Some(id) = id {
                            execute(c, "DELETE FROM files WHERE id = $1", &[&id.get()]).await?;
                        }
                    } else {
                        kept.push(v);
                    }
                }
                for file in add {
                    kept.push(CustomValue::file(ops::insert_file(c, file).await?));
                }
                kept
            }
        };
        let delete = "DELETE FROM user_uf_values WHERE user_id = $1 AND field_id = $2";
        execute(c, delete, &[&uid, &fid]).await?;
        let insert = "INSERT INTO user_uf_values (user_id, field_id, seq, text_value, num_value) \
                      VALUES ($1, $2, $3, $4, $5)";
        for (seq, v) in values.into_iter().enumerate() {
            execute(c, insert, &[&uid, &fid, &(seq as i64), &v.text, &v.num]).await?;
        }
    }
    Ok(())
}
