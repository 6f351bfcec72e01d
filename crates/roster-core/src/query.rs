//! The one filter language of the core. Faces translate their own syntax (Bitrix24
//! prefixes, Zabbix `filter`/`search`) into it; backends compile it to bound SQL.

use crate::attrs::AttrId;
use crate::user::{User, Value};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Case-insensitive match with `%` and `_` wildcards; several values are OR-ed.
    Like,
    /// Negated [`Op::Like`]; several values are AND-ed.
    NotLike,
    /// Equality; several values mean IN.
    Eq,
    /// Inequality; several values mean NOT IN.
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// Between two values, inclusive.
    Between,
    /// Case-insensitive "contains" (no wildcards); several values are OR-ed.
    Contains,
    NotContains,
    /// Case-insensitive prefix; several values are OR-ed.
    StartsWith,
    /// NULL or empty.
    IsEmpty,
    /// Neither NULL nor empty.
    NotEmpty,
}

/// One condition; a [`Filter`] is their conjunction.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Attr {
        attr: AttrId,
        op: Op,
        values: Vec<Value>,
    },
    Id {
        op: Op,
        values: Vec<i64>,
    },
    Login {
        op: Op,
        values: Vec<String>,
    },
    /// Member of any of these departments (or of none of them, negated).
    Department {
        any_of: Vec<i64>,
        negate: bool,
    },
    /// Has at least one department (employee) or none (extranet).
    HasDepartment(bool),
    /// Member of a department whose name starts with this text (case-insensitive).
    DepartmentName(String),
    /// Quick search: every word matches the id or starts one of the searchable names.
    Find(Vec<String>),
    /// Only users this viewer may see without admin mode: employees and the viewer.
    VisibleTo(i64),
    /// A custom field's values: any value matches (negated ops: none matches the positive form).
    Custom {
        field: crate::ids::FieldId,
        numeric: bool,
        op: Op,
        values: Vec<crate::userfields::CustomValue>,
    },
    /// Matches nothing (for example an unparseable date).
    Never,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter(pub Vec<Cond>);

/// The id a quick-search word stands for, as PHP's `intval` reads it (`"2abc"` is 2);
/// None when the word does not start with digits (intval 0 matches no user).
pub fn word_id(word: &str) -> Option<i64> {
    let digits: String = word.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|id| *id > 0)
}

impl Filter {
    /// The department-name prefixes the filter searches (quick-search words included),
    /// lower-cased: a store can look up those departments first.
    pub fn department_prefixes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for cond in &self.0 {
            match cond {
                Cond::DepartmentName(p) => out.push(p.to_lowercase()),
                Cond::Find(words) => out.extend(words.iter().map(|w| w.to_lowercase())),
                _ => {}
            }
        }
        out
    }

    pub fn push(&mut self, cond: Cond) {
        self.0.push(cond);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Login,
    Attr(AttrId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A page request over users.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    pub filter: Filter,
    /// Ties are always broken by id ascending.
    pub order: Vec<(SortKey, Direction)>,
    pub offset: u64,
    pub limit: u64,
    /// Whether to count every match (Bitrix `total`); skipped for `start=-1`.
    pub count_total: bool,
}

impl Default for UserQuery {
    fn default() -> Self {
        UserQuery { filter: Filter::default(), order: Vec::new(), offset: 0, limit: 50, count_total: true }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Every match, when counting was asked for.
    pub total: Option<u64>,
}

pub type UserPage = Page<User>;
