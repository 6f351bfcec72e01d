//! SQL pieces of the PostgreSQL operations: the typed bound parameter, row decoding, and
//! the compiler of the core `Filter` into a WHERE clause over `$n` parameters, with the
//! same semantics as the SQLite compiler (ILIKE stands in for `rs_ilike`). Column names
//! come from the `ATTRS` catalog and collation names from a fixed list, never from input.

use std::collections::HashMap;
use std::error::Error;

use bytes::BytesMut;
use chrono::NaiveDate;
use roster_core::query::{Cond, Direction, Filter, Op, SortKey};
use roster_core::{
    AttrId, AttrKind, CustomValue, FieldId, FileId, StoreError, StoreResult, User, UserId, Value, ATTRS,
};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Row;

use super::backend;
// Dialect-neutral helpers, shared with the SQLite backend rather than copied: the column
// list follows the catalog, and both backends escape LIKE wildcards with `\`.
pub(crate) use crate::sqlite::sql::{escape_like, user_columns};

/// One bound parameter. NULL binds to any column type; the others check theirs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Float(f64),
}

impl Param {
    /// The parameter a stored value is written as.
    pub(crate) fn of(value: &Value) -> Param {
        match value {
            Value::Null => Param::Null,
            Value::Text(s) => Param::Text(s.clone()),
            Value::Bool(b) => Param::Bool(*b),
            Value::Date(d) => Param::Date(*d),
            Value::DateTime(t) | Value::Int(t) => Param::Int(*t),
            Value::File(f) => Param::Int(f.get()),
        }
    }

    /// A filter value compared with a column of `kind`. A value of another kind compares
    /// as NULL (matches nothing) instead of failing the query, as faces never send one.
    fn for_kind(kind: AttrKind, value: &Value) -> Param {
        let fits = matches!(
            (kind, value),
            (AttrKind::Text, Value::Text(_))
                | (AttrKind::Bool, Value::Bool(_))
                | (AttrKind::Date, Value::Date(_))
                | (AttrKind::DateTime, Value::DateTime(_))
                | (AttrKind::File, Value::File(_))
                | (AttrKind::Int, Value::Int(_))
        );
        if fits {
            Param::of(value)
        } else {
            Param::Null
        }
    }
}

fn bind_as<T: ToSql>(value: &T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
    if T::accepts(ty) {
        value.to_sql(ty, out)
    } else {
        Err(format!("cannot bind {} to a {ty} parameter", std::any::type_name::<T>()).into())
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(i) => bind_as(i, ty, out),
            Param::Text(s) => bind_as(s, ty, out),
            Param::Bool(b) => bind_as(b, ty, out),
            Param::Date(d) => bind_as(d, ty, out),
            Param::Float(f) => bind_as(f, ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty)
            || <String as ToSql>::accepts(ty)
            || <bool as ToSql>::accepts(ty)
            || <NaiveDate as ToSql>::accepts(ty)
            || <f64 as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// Parameters in the `&dyn ToSql` form the driver takes.
pub(crate) fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Column `i` of a row; a value that does not decode is a backend error.
pub(crate) fn col<'r, T: FromSql<'r>>(row: &'r Row, i: usize) -> StoreResult<T> {
    row.try_get(i).map_err(backend)
}

/// Decodes a row selected with [`user_columns`] (departments are filled in later).
pub(crate) fn user_from_row(row: &Row) -> StoreResult<User> {
    let id: i64 = col(row, 0)?;
    let id = UserId::new(id).ok_or_else(|| StoreError::Backend(format!("bad user id {id}")))?;
    let mut values = Vec::with_capacity(ATTRS.len());
    for (i, a) in ATTRS.iter().enumerate() {
        let at = 4 + i;
        let value = match a.kind {
            AttrKind::Text => col::<Option<String>>(row, at)?.map(Value::Text),
            AttrKind::Bool => col::<Option<bool>>(row, at)?.map(Value::Bool),
            AttrKind::Date => col::<Option<NaiveDate>>(row, at)?.map(Value::Date),
            AttrKind::DateTime => col::<Option<i64>>(row, at)?.map(Value::DateTime),
            AttrKind::Int => col::<Option<i64>>(row, at)?.map(Value::Int),
            AttrKind::File => col::<Option<i64>>(row, at)?.and_then(FileId::new).map(Value::File),
        };
        values.push(value.unwrap_or(Value::Null));
    }
    let mut user = User::from_values(id, col(row, 1)?, values);
    user.is_admin = col(row, 2)?;
    user.version = col(row, 3)?;
    Ok(user)
}

/// Numbered `$n` parameters collected while SQL text is built.
#[derive(Debug, Default)]
pub(crate) struct Binds(pub(crate) Vec<Param>);

impl Binds {
    /// Adds a parameter and returns its placeholder.
    pub(crate) fn bind(&mut self, p: Param) -> String {
        self.0.push(p);
        format!("${}", self.0.len())
    }

    /// Placeholders of several parameters, comma-separated.
    pub(crate) fn list(&mut self, ps: impl IntoIterator<Item = Param>) -> String {
        let marks: Vec<String> = ps.into_iter().map(|p| self.bind(p)).collect();
        marks.join(", ")
    }

    /// `col ILIKE pattern` folding case under `fold`; `\` escapes. A pattern ending in a
    /// lone `\` matches nothing (as `rs_ilike`) instead of raising PostgreSQL's error.
    pub(crate) fn ilike(&mut self, col: &str, pattern: &str, fold: &str) -> String {
        if ends_in_lone_escape(pattern) {
            return "FALSE".into();
        }
        let p = self.bind(Param::Text(pattern.to_owned()));
        format!("{col} COLLATE \"{fold}\" ILIKE {p} ESCAPE '\\'")
    }

    /// `col` (a lower-cased shadow) starts with `prefix` (lower-cased), as an index range;
    /// the columns are byte-ordered (`COLLATE "C"`), so U+10FFFF bounds every extension.
    fn prefix_range(&mut self, col: &str, prefix: &str) -> String {
        if prefix.is_empty() {
            return format!("{col} IS NOT NULL");
        }
        let lo = self.bind(Param::Text(prefix.to_owned()));
        let hi = self.bind(Param::Text(format!("{prefix}\u{10FFFF}")));
        format!("({col} >= {lo} AND {col} < {hi})")
    }
}

fn ends_in_lone_escape(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next().is_none() {
            return true;
        }
    }
    false
}

/// A compiled WHERE clause and its parameters.
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) binds: Binds,
}

/// Compiles a filter; an empty filter is `TRUE`. `fold` is the collation ILIKE folds under.
#[cfg(test)]
pub(crate) fn compile(filter: &Filter, fold: &'static str) -> Where {
    compile_resolved(filter, fold, HashMap::new())
}

/// As [`compile`], with the ids of the departments each quick-search prefix matches
/// already looked up (see [`Filter::department_prefixes`]): a word that names no
/// department then has no department branch, which keeps PostgreSQL on the name indexes.
pub(crate) fn compile_resolved(filter: &Filter, fold: &'static str, depts: HashMap<String, Vec<i64>>) -> Where {
    let mut c = Compiler { binds: Binds::default(), fold, depts };
    let parts: Vec<String> = filter.0.iter().map(|cond| c.cond(cond)).collect();
    let sql = if parts.is_empty() { "TRUE".into() } else { parts.join(" AND ") };
    Where { sql, binds: c.binds }
}

struct Compiler {
    binds: Binds,
    fold: &'static str,
    depts: HashMap<String, Vec<i64>>,
}

impl Compiler {
    fn cond(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::Never => "FALSE".into(),
            Cond::Id { op, values } => self.compare("id", *op, values.iter().map(|v| Param::Int(*v)).collect()),
            Cond::Login { op: op @ (Op::Eq | Op::Ne), values } => {
                self.compare("login", *op, values.iter().cloned().map(Param::Text).collect())
            }
            Cond::Login { op, values } => self.text("login", Some("login_lc"), *op, values),
            Cond::Attr { attr, op, values } => self.attr(*attr, *op, values),
            Cond::Department { any_of, negate } if any_of.is_empty() => {
                // `IN ()` is not SQL here: no department matches, so only the negation holds.
                if *negate { "TRUE" } else { "FALSE" }.into()
            }
            Cond::Department { any_of, negate } => {
                let list = self.binds.list(any_of.iter().map(|d| Param::Int(*d)));
                let not = if *negate { "NOT " } else { "" };
                format!("id {not}IN (SELECT user_id FROM user_departments WHERE dept_id IN ({list}))")
            }
            Cond::HasDepartment(has) => {
                let not = if *has { "" } else { "NOT " };
                format!("{not}EXISTS (SELECT 1 FROM user_departments d WHERE d.user_id = users.id)")
            }
            Cond::VisibleTo(viewer) => format!(
                "(id = {} OR EXISTS (SELECT 1 FROM user_departments d WHERE d.user_id = users.id))",
                self.binds.bind(Param::Int(*viewer))
            ),
            Cond::DepartmentName(prefix) => self.department_name(prefix),
            Cond::Custom { field, numeric, op, values } => self.custom(*field, *numeric, *op, values),
            Cond::Find(words) if words.is_empty() => "TRUE".into(),
            Cond::Find(words) => {
                let all: Vec<String> = words.iter().map(|w| self.find_word(w)).collect();
                all.join(" AND ")
            }
        }
    }

    /// A custom-field condition: a subquery over `user_uf_values`. Negated operators match
    /// users none of whose values match the positive form (users without values included).
    fn custom(&mut self, field: FieldId, numeric: bool, op: Op, values: &[CustomValue]) -> String {
        let (positive, negate) = match op {
            Op::Ne => (Op::Eq, true),
            Op::NotLike => (Op::Like, true),
            Op::NotContains => (Op::Contains, true),
            Op::IsEmpty => (Op::NotEmpty, true),
            other => (other, false),
        };
        let fid = self.binds.bind(Param::Int(field.get()));
        let cmp = if positive == Op::NotEmpty {
            "TRUE".to_owned()
        } else if numeric {
            let nums = values.iter().map(|v| v.num.map_or(Param::Null, Param::Float)).collect();
            let op = match positive {
                Op::Like | Op::Contains | Op::StartsWith => Op::Eq,
                other => other,
            };
            self.compare("num_value", op, nums)
        } else {
            let texts: Vec<String> = values.iter().map(|v| v.text.clone()).collect();
            self.text("text_value", None, positive, &texts)
        };
        let not = if negate { "NOT " } else { "" };
        format!("id {not}IN (SELECT user_id FROM user_uf_values WHERE field_id = {fid} AND {cmp})")
    }

    /// One quick-search word: the id, or a prefix of a searchable name or a department name.
    /// The branches are a union of id sets, so each uses its own index (an `OR` with a
    /// subquery branch makes PostgreSQL read the whole table).
    fn find_word(&mut self, word: &str) -> String {
        let lower = word.to_lowercase();
        let mut any = Vec::new();
        if let Some(id) = roster_core::query::word_id(word) {
            any.push(format!("SELECT {}::bigint", self.binds.bind(Param::Int(id))));
        }
        for col in ["name_lc", "last_name_lc", "second_name_lc", "work_position_lc"] {
            let range = self.binds.prefix_range(col, &lower);
            any.push(format!("SELECT id FROM users WHERE {range}"));
        }
        if let Some(members) = self.department_members(word) {
            any.push(members);
        }
        format!("id IN ({})", any.join(" UNION ALL "))
    }

    fn department_name(&mut self, prefix: &str) -> String {
        match self.department_members(prefix) {
            Some(members) => format!("id IN ({members})"),
            None => "FALSE".into(),
        }
    }

    /// The ids of the members of the departments whose name starts with `prefix`, as a
    /// SELECT: over the departments looked up before compiling when there are (`None` when
    /// none matched), else with the name test in the query.
    fn department_members(&mut self, prefix: &str) -> Option<String> {
        match self.depts.get(&prefix.to_lowercase()).cloned() {
            Some(ids) if ids.is_empty() => None,
            Some(ids) => {
                let list = self.binds.list(ids.into_iter().map(Param::Int));
                Some(format!("SELECT user_id FROM user_departments WHERE dept_id IN ({list})"))
            }
            None => {
                let test = self.binds.ilike("dp.name", &format!("{}%", escape_like(prefix)), self.fold);
                Some(format!(
                    "SELECT ud.user_id FROM user_departments ud JOIN departments dp ON dp.id = ud.dept_id WHERE {test}"
                ))
            }
        }
    }

    fn attr(&mut self, attr: AttrId, op: Op, values: &[Value]) -> String {
        let def = attr.attr();
        if def.kind == AttrKind::Text {
            let texts: Vec<String> = values.iter().filter_map(|v| v.as_text().map(str::to_owned)).collect();
            let shadow = def.searchable.then(|| format!("{}_lc", def.name));
            return self.text(def.name, shadow.as_deref(), op, &texts);
        }
        match op {
            Op::IsEmpty => format!("{} IS NULL", def.name),
            Op::NotEmpty => format!("{} IS NOT NULL", def.name),
            _ => self.compare(def.name, op, values.iter().map(|v| Param::for_kind(def.kind, v)).collect()),
        }
    }

    /// Equality and ordering comparisons of one column; the LIKE family means equality here.
    fn compare(&mut self, col: &str, op: Op, values: Vec<Param>) -> String {
        let Some(first) = values.first().cloned() else {
            return match op {
                Op::Ne | Op::NotLike | Op::NotContains => "TRUE".into(),
                Op::IsEmpty => format!("{col} IS NULL"),
                Op::NotEmpty => format!("{col} IS NOT NULL"),
                _ => "FALSE".into(),
            };
        };
        match op {
            Op::Eq | Op::Like | Op::Contains | Op::StartsWith if values.len() == 1 => {
                format!("{col} = {}", self.binds.bind(first))
            }
            Op::Eq | Op::Like | Op::Contains | Op::StartsWith => {
                format!("{col} IN ({})", self.binds.list(values))
            }
            Op::Ne | Op::NotLike | Op::NotContains => {
                format!("({col} IS NULL OR {col} NOT IN ({}))", self.binds.list(values))
            }
            Op::Gt => format!("{col} > {}", self.binds.bind(first)),
            Op::Ge => format!("{col} >= {}", self.binds.bind(first)),
            Op::Lt => format!("{col} < {}", self.binds.bind(first)),
            Op::Le => format!("{col} <= {}", self.binds.bind(first)),
            Op::Between => {
                let hi = values.get(1).cloned().unwrap_or_else(|| first.clone());
                format!("{col} BETWEEN {} AND {}", self.binds.bind(first), self.binds.bind(hi))
            }
            Op::IsEmpty => format!("{col} IS NULL"),
            Op::NotEmpty => format!("{col} IS NOT NULL"),
        }
    }

    /// Text comparisons; case-insensitive ones use the lower-cased shadow when there is one.
    fn text(&mut self, col: &str, shadow: Option<&str>, op: Op, values: &[String]) -> String {
        let any = |c: &mut Compiler, pattern_of: &dyn Fn(&str) -> String| -> String {
            let parts: Vec<String> = values.iter().map(|v| c.like(col, shadow, &pattern_of(v))).collect();
            if parts.is_empty() {
                "FALSE".into()
            } else {
                format!("({})", parts.join(" OR "))
            }
        };
        let contains = |v: &str| format!("%{}%", escape_like(v));
        match op {
            Op::Like => any(self, &str::to_owned),
            Op::NotLike => format!("({col} IS NULL OR NOT {})", any(self, &str::to_owned)),
            Op::Contains => any(self, &contains),
            Op::NotContains => format!("({col} IS NULL OR NOT {})", any(self, &contains)),
            Op::StartsWith => match shadow {
                Some(sh) => {
                    let parts: Vec<String> =
                        values.iter().map(|v| self.binds.prefix_range(sh, &v.to_lowercase())).collect();
                    if parts.is_empty() {
                        "FALSE".into()
                    } else {
                        format!("({})", parts.join(" OR "))
                    }
                }
                None => any(self, &|v| format!("{}%", escape_like(v))),
            },
            Op::IsEmpty => format!("({col} IS NULL OR {col} = '')"),
            Op::NotEmpty => format!("({col} IS NOT NULL AND {col} <> '')"),
            _ => self.compare(col, op, values.iter().cloned().map(Param::Text).collect()),
        }
    }

    /// One LIKE pattern: equality or a prefix range on the shadow when the pattern allows it.
    fn like(&mut self, col: &str, shadow: Option<&str>, pattern: &str) -> String {
        let lower = pattern.to_lowercase();
        match shadow {
            Some(sh) if !lower.contains(['%', '_']) => {
                format!("{sh} = {}", self.binds.bind(Param::Text(lower)))
            }
            Some(sh) if is_plain_prefix(&lower) => self.binds.prefix_range(sh, &lower[..lower.len() - 1]),
            _ => self.binds.ilike(col, pattern, self.fold),
        }
    }
}

fn is_plain_prefix(pattern: &str) -> bool {
    pattern.len() > 1 && pattern.ends_with('%') && !pattern[..pattern.len() - 1].contains(['%', '_', '\\'])
}

/// ORDER BY for a query: NULLs sort first ascending (as in SQLite); ties fall back to id.
pub(crate) fn order_by(order: &[(SortKey, Direction)]) -> String {
    let column = |key: &SortKey| match key {
        SortKey::Id => "id",
        SortKey::Login => "login_lc",
        SortKey::Attr(a) => a.attr().name,
    };
    let mut parts: Vec<String> = order
        .iter()
        .map(|(key, dir)| match dir {
            Direction::Asc => format!("{} ASC NULLS FIRST", column(key)),
            Direction::Desc => format!("{} DESC NULLS LAST", column(key)),
        })
        .collect();
    if !order.iter().any(|(k, _)| *k == SortKey::Id) {
        parts.push("id ASC".into());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_trailing_escape_is_detected() {
        assert!(ends_in_lone_escape("ab\\"));
        assert!(!ends_in_lone_escape("ab\\\\"));
        assert!(ends_in_lone_escape("\\\\\\"));
        assert!(!ends_in_lone_escape("a\\%"));
    }

    #[test]
    fn filters_compile_to_numbered_parameters() {
        let name = AttrId::named("name");
        let f = Filter(vec![
            Cond::Attr { attr: name, op: Op::Like, values: vec![Value::Text("Ив%".into())] },
            Cond::Department { any_of: vec![3, 4], negate: true },
            Cond::Department { any_of: vec![], negate: false },
        ]);
        let w = compile(&f, "default");
        assert_eq!(
            w.sql,
            "((name_lc >= $1 AND name_lc < $2)) AND id NOT IN (SELECT user_id FROM user_departments \
             WHERE dept_id IN ($3, $4)) AND FALSE"
        );
        assert_eq!(w.binds.0[0], Param::Text("ив".into()));
        assert_eq!(w.binds.0.len(), 4);
    }

    #[test]
    fn mismatched_filter_values_bind_null() {
        let active = AttrId::named("active");
        let w =
            compile(&Filter(vec![Cond::Attr { attr: active, op: Op::Eq, values: vec![Value::Text("x".into())] }]), "C");
        assert_eq!(w.sql, "active = $1");
        assert_eq!(w.binds.0, vec![Param::Null]);
    }
}
