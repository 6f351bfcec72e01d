//! SQL pieces shared by the SQLite operations: the column list, row decoding, the
//! compilation of the core `Filter` into a WHERE clause with bound parameters, and the
//! Unicode-aware `rs_ilike` function. Column names come from the catalog, never input.

use chrono::NaiveDate;
use roster_core::query::{Cond, Direction, Filter, Op, SortKey};
use roster_core::{AttrId, AttrKind, FileId, UserId, Value, ATTRS};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};

use crate::like::ilike;

/// `id, login, is_admin, version, <every attribute>`.
pub(crate) fn user_columns() -> String {
    let mut cols = String::from("id, login, is_admin, version");
    for a in ATTRS {
        cols.push_str(", ");
        cols.push_str(a.name);
    }
    cols
}

/// Decodes a row selected with [`user_columns`] (departments are filled in later).
pub(crate) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<roster_core::User> {
    let id: i64 = row.get(0)?;
    let login: String = row.get(1)?;
    let mut values = Vec::with_capacity(ATTRS.len());
    for (i, a) in ATTRS.iter().enumerate() {
        let raw: SqlValue = row.get(4 + i)?;
        values.push(from_sql(a.kind, raw));
    }
    let id = UserId::new(id).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, id))?;
    let mut user = roster_core::User::from_values(id, login, values);
    user.is_admin = row.get::<_, i64>(2)? != 0;
    user.version = row.get(3)?;
    Ok(user)
}

fn from_sql(kind: AttrKind, raw: SqlValue) -> Value {
    match (kind, raw) {
        (_, SqlValue::Null) => Value::Null,
        (AttrKind::Text, SqlValue::Text(s)) => Value::Text(s),
        (AttrKind::Bool, SqlValue::Integer(i)) => Value::Bool(i != 0),
        (AttrKind::Date, SqlValue::Text(s)) => {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(Value::Date).unwrap_or(Value::Null)
        }
        (AttrKind::DateTime, SqlValue::Integer(i)) => Value::DateTime(i),
        (AttrKind::Int, SqlValue::Integer(i)) => Value::Int(i),
        (AttrKind::File, SqlValue::Integer(i)) => FileId::new(i).map(Value::File).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The SQL form of a value.
pub(crate) fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Date(d) => SqlValue::Text(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(t) | Value::Int(t) => SqlValue::Integer(*t),
        Value::File(f) => SqlValue::Integer(f.get()),
    }
}

/// Registers the functions the queries use; every connection needs them.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("rs_ilike", 2, flags, |ctx| {
        let pattern: Option<String> = ctx.get(0)?;
        let value: Option<String> = ctx.get(1)?;
        Ok(match (pattern, value) {
            (Some(p), Some(v)) => ilike(&p, &v),
            _ => false,
        })
    })?;
    conn.create_scalar_function("rs_lower", 1, flags, |ctx| {
        let value: Option<String> = ctx.get(0)?;
        Ok(value.map(|v| v.to_lowercase()))
    })
}

/// A WHERE clause under construction.
#[derive(Default)]
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
    /// Departments matching a name prefix, when resolved beforehand.
    depts: std::collections::HashMap<String, Vec<i64>>,
}

impl Where {
    fn bind(&mut self, v: SqlValue) -> &'static str {
        self.params.push(v);
        "?"
    }

    fn placeholders(&mut self, values: impl IntoIterator<Item = SqlValue>) -> String {
        let list: Vec<&str> = values.into_iter().map(|v| self.bind(v)).collect();
        list.join(", ")
    }
}

/// Compiles a filter (an empty one is `1`), with the ids of the departments each prefix matches already looked up:
/// the query then reads only those departments' members, not every membership.
pub(crate) fn compile_resolved(filter: &Filter, depts: std::collections::HashMap<String, Vec<i64>>) -> Where {
    let mut w = Where { depts, ..Where::default() };
    let mut parts = Vec::new();
    for cond in &filter.0 {
        parts.push(compile_cond(&mut w, cond));
    }
    w.sql = if parts.is_empty() { "1".into() } else { parts.join(" AND ") };
    w
}

fn compile_cond(w: &mut Where, cond: &Cond) -> String {
    match cond {
        Cond::Never => "0".into(),
        Cond::Id { op, values } => {
            let vals: Vec<SqlValue> = values.iter().map(|v| SqlValue::Integer(*v)).collect();
            compare(w, "id", *op, vals)
        }
        Cond::Login { op, values } => match op {
            Op::Eq | Op::Ne => {
                let vals = values.iter().map(|v| SqlValue::Text(v.clone())).collect();
                compare(w, "login", *op, vals)
            }
            _ => text_match(w, "login", Some("login_lc"), *op, values),
        },
        Cond::Attr { attr, op, values } => attr_cond(w, *attr, *op, values),
        Cond::Department { any_of, negate } => {
            let list = w.placeholders(any_of.iter().map(|d| SqlValue::Integer(*d)));
            let not = if *negate { "NOT " } else { "" };
            format!("id {not}IN (SELECT user_id FROM user_departments WHERE dept_id IN ({list}))")
        }
        Cond::HasDepartment(has) => {
            let not = if *has { "" } else { "NOT " };
            format!("{not}EXISTS (SELECT 1 FROM user_departments d WHERE d.user_id = users.id)")
        }
        Cond::VisibleTo(viewer) => format!(
            "(id = {} OR EXISTS (SELECT 1 FROM user_departments d WHERE d.user_id = users.id))",
            w.bind(SqlValue::Integer(*viewer))
        ),
        Cond::DepartmentName(prefix) => dept_name_prefix(w, prefix),
        Cond::Custom { field, numeric, op, values } => custom_cond(w, *field, *numeric, *op, values),
        Cond::Find(words) => {
            let mut all = Vec::new();
            for word in words {
                all.push(find_word(w, word));
            }
            if all.is_empty() {
                "1".into()
            } else {
                all.join(" AND ")
            }
        }
    }
}

/// One quick-search word: the id, or a prefix of a searchable name or a department name.
fn find_word(w: &mut Where, word: &str) -> String {
    let lower = word.to_lowercase();
    let mut any = Vec::new();
    if let Some(id) = roster_core::query::word_id(word) {
        any.push(format!("id = {}", w.bind(SqlValue::Integer(id))));
    }
    for col in ["name", "last_name", "second_name", "work_position"] {
        any.push(prefix_range(w, &format!("{col}_lc"), &lower));
    }
    // A constant `0` branch (no department matched) would stop SQLite from using one index
    // per branch (its multi-index OR), so it is left out.
    let dept = dept_name_prefix(w, word);
    if dept != "0" {
        any.push(dept);
    }
    format!("({})", any.join(" OR "))
}

fn dept_name_prefix(w: &mut Where, prefix: &str) -> String {
    if let Some(ids) = w.depts.get(&prefix.to_lowercase()).cloned() {
        if ids.is_empty() {
            return "0".into();
        }
        let list = w.placeholders(ids.into_iter().map(SqlValue::Integer));
        return format!("id IN (SELECT user_id FROM user_departments WHERE dept_id IN ({list}))");
    }
    let pattern = format!("{}%", escape_like(prefix));
    format!(
        "id IN (SELECT ud.user_id FROM user_departments ud JOIN departments dp ON dp.id = ud.dept_id \
         WHERE rs_ilike({}, dp.name))",
        w.bind(SqlValue::Text(pattern))
    )
}

fn attr_cond(w: &mut Where, attr: AttrId, op: Op, values: &[Value]) -> String {
    let def = attr.attr();
    let col = def.name;
    if def.kind == AttrKind::Text {
        let texts: Vec<String> = values.iter().filter_map(|v| v.as_text().map(str::to_owned)).collect();
        let shadow = def.searchable.then(|| format!("{col}_lc"));
        return text_match(w, col, shadow.as_deref(), op, &texts);
    }
    match op {
        Op::IsEmpty => format!("{col} IS NULL"),
        Op::NotEmpty => format!("{col} IS NOT NULL"),
        _ => compare(w, col, op, values.iter().map(to_sql).collect()),
    }
}

/// Equality and ordering comparisons of one column.
fn compare(w: &mut Where, col: &str, op: Op, values: Vec<SqlValue>) -> String {
    if values.is_empty() {
        return match op {
            Op::Ne | Op::NotLike | Op::NotContains => "1".into(),
            Op::IsEmpty => format!("{col} IS NULL"),
            Op::NotEmpty => format!("{col} IS NOT NULL"),
            _ => "0".into(),
        };
    }
    let first = values[0].clone();
    match op {
        Op::Eq | Op::Like | Op::Contains | Op::StartsWith if values.len() == 1 => {
            format!("{col} = {}", w.bind(first))
        }
        Op::Eq | Op::Like | Op::Contains | Op::StartsWith => format!("{col} IN ({})", w.placeholders(values)),
        Op::Ne | Op::NotLike | Op::NotContains => {
            format!("({col} IS NULL OR {col} NOT IN ({}))", w.placeholders(values))
        }
        Op::Gt => format!("{col} > {}", w.bind(first)),
        Op::Ge => format!("{col} >= {}", w.bind(first)),
        Op::Lt => format!("{col} < {}", w.bind(first)),
        Op::Le => format!("{col} <= {}", w.bind(first)),
        Op::Between => {
            let hi = values.get(1).cloned().unwrap_or_else(|| first.clone());
            format!("{col} BETWEEN {} AND {}", w.bind(first), w.bind(hi))
        }
        Op::IsEmpty => format!("{col} IS NULL"),
        Op::NotEmpty => format!("{col} IS NOT NULL"),
    }
}

/// Text comparisons; case-insensitive ones use the lower-cased shadow column when there is one.
fn text_match(w: &mut Where, col: &str, shadow: Option<&str>, op: Op, values: &[String]) -> String {
    let any = |w: &mut Where, f: &dyn Fn(&mut Where, &str) -> String| -> String {
        let parts: Vec<String> = values.iter().map(|v| f(w, v)).collect();
        if parts.is_empty() {
            "0".into()
        } else {
            format!("({})", parts.join(" OR "))
        }
    };
    let like_one = |w: &mut Where, pattern: &str| -> String {
        let lower = pattern.to_lowercase();
        match shadow {
            Some(sh) if !lower.contains(['%', '_']) => format!("{sh} = {}", w.bind(SqlValue::Text(lower))),
            Some(sh) if is_plain_prefix(&lower) => prefix_range(w, sh, &lower[..lower.len() - 1]),
            _ => format!("rs_ilike({}, {col})", w.bind(SqlValue::Text(pattern.to_owned()))),
        }
    };
    match op {
        Op::Like => any(w, &like_one),
        Op::NotLike => {
            let inner = any(w, &like_one);
            format!("({col} IS NULL OR NOT {inner})")
        }
        Op::Contains => any(w, &|w, v| like_one(w, &format!("%{}%", escape_like(v)))),
        Op::NotContains => {
            let inner = any(w, &|w, v| like_one(w, &format!("%{}%", escape_like(v))));
            format!("({col} IS NULL OR NOT {inner})")
        }
        Op::StartsWith => any(w, &|w, v| match shadow {
            Some(sh) => prefix_range(w, sh, &v.to_lowercase()),
            None => like_one(w, &format!("{}%", escape_like(v))),
        }),
        Op::IsEmpty => format!("({col} IS NULL OR {col} = '')"),
        Op::NotEmpty => format!("({col} IS NOT NULL AND {col} != '')"),
        _ => compare(w, col, op, values.iter().map(|v| SqlValue::Text(v.clone())).collect()),
    }
}

/// `col` starts with `prefix` (already lower-cased), as an index-friendly range.
fn prefix_range(w: &mut Where, col: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return format!("{col} IS NOT NULL");
    }
    let hi = format!("{prefix}\u{10FFFF}");
    format!("({col} >= {} AND {col} < {})", w.bind(SqlValue::Text(prefix.to_owned())), w.bind(SqlValue::Text(hi)))
}

fn is_plain_prefix(pattern: &str) -> bool {
    pattern.len() > 1 && pattern.ends_with('%') && !pattern[..pattern.len() - 1].contains(['%', '_', '\\'])
}

/// Escapes wildcards so a value matches literally inside an `rs_ilike` pattern.
pub(crate) fn escape_like(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A custom-field condition: a subquery over `user_uf_values`. Negated operators match
/// users none of whose values match the positive form (users without values included).
fn custom_cond(
    w: &mut Where,
    field: roster_core::FieldId,
    numeric: bool,
    op: Op,
    values: &[roster_core::CustomValue],
) -> String {
    let (positive, negate) = match op {
        Op::Ne => (Op::Eq, true),
        Op::NotLike => (Op::Like, true),
        Op::NotContains => (Op::Contains, true),
        Op::IsEmpty => (Op::NotEmpty, true),
        other => (other, false),
    };
    let fid = w.bind(SqlValue::Integer(field.get()));
    let cmp = if positive == Op::NotEmpty {
        "1".to_owned()
    } else if numeric {
        let nums: Vec<SqlValue> = values.iter().map(|v| v.num.map_or(SqlValue::Null, SqlValue::Real)).collect();
        let op = match positive {
            Op::Like | Op::Contains | Op::StartsWith => Op::Eq,
            o => o,
        };
        compare(w, "num_value", op, nums)
    } else {
        let texts: Vec<String> = values.iter().map(|v| v.text.clone()).collect();
        text_match(w, "text_value", None, positive, &texts)
    };
    let not = if negate { "NOT " } else { "" };
    format!("id {not}IN (SELECT user_id FROM user_uf_values WHERE field_id = {fid} AND {cmp})")
}

/// ORDER BY for a query; ties always fall back to id ascending.
pub(crate) fn order_by(order: &[(SortKey, Direction)]) -> String {
    let mut parts = Vec::new();
    for (key, dir) in order {
        let col = match key {
            SortKey::Id => "id",
            SortKey::Login => "login_lc",
            SortKey::Attr(a) => a.attr().name,
        };
        let dir = match dir {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        };
        parts.push(format!("{col} {dir}"));
    }
    if !order.iter().any(|(k, _)| *k == SortKey::Id) {
        parts.push("id ASC".into());
    }
    parts.join(", ")
}
