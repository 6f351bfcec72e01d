//! Small builders the contract cases share: users and patches from `(attribute, value)`
//! pairs, departments, and queries that answer with ids so expectations stay short.

use roster_core::query::{Cond, Direction, Filter, Op, SortKey, UserQuery};
use roster_core::{
    AttrId, Department, DepartmentId, DepartmentQuery, NewDepartment, NewUser, Store, StoreError, User, UserId,
    UserPatch, Value,
};

pub fn attr(name: &'static str) -> AttrId {
    AttrId::named(name)
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub fn patch(values: &[(&'static str, Value)]) -> UserPatch {
    let mut p = UserPatch::default();
    for (name, value) in values {
        p.set(attr(name), value.clone());
    }
    p
}

pub fn new_user(login: &str, values: &[(&'static str, Value)]) -> NewUser {
    NewUser { login: login.to_owned(), password_hash: None, is_admin: false, patch: patch(values) }
}

pub async fn create(s: &dyn Store, login: &str, values: &[(&'static str, Value)]) -> UserId {
    s.create_user(new_user(login, values)).await.expect("create user")
}

pub async fn load(s: &dyn Store, id: UserId) -> User {
    s.user(id).await.expect("read user").expect("user exists")
}

pub async fn dept(s: &dyn Store, name: &str, sort: i64, parent: Option<DepartmentId>) -> DepartmentId {
    let d = NewDepartment { name: name.to_owned(), sort, parent, head: None };
    s.create_department(d).await.expect("create department")
}

pub async fn all_departments(s: &dyn Store) -> Vec<Department> {
    s.departments(&DepartmentQuery::default()).await.expect("list departments")
}

/// A condition on a text attribute.
pub fn on(name: &'static str, op: Op, values: &[&str]) -> Cond {
    Cond::Attr { attr: attr(name), op, values: values.iter().map(|v| text(v)).collect() }
}

/// Ids of the users matching every condition, in id order.
pub async fn ids(s: &dyn Store, conds: Vec<Cond>) -> Vec<UserId> {
    ordered(s, conds, Vec::new()).await
}

pub async fn ordered(s: &dyn Store, conds: Vec<Cond>, order: Vec<(SortKey, Direction)>) -> Vec<UserId> {
    let q = UserQuery { filter: Filter(conds), order, offset: 0, limit: 1000, count_total: false };
    s.find_users(&q).await.expect("find users").items.iter().map(|u| u.id).collect()
}

pub async fn count(s: &dyn Store) -> u64 {
    let q = UserQuery { limit: 0, ..UserQuery::default() };
    s.find_users(&q).await.expect("count users").total.expect("total asked for")
}

/// The name of a store error, so expectations read `Err("taken login")`.
pub fn kind(e: &StoreError) -> String {
    match e {
        StoreError::Taken(what) => format!("taken {what}"),
        StoreError::Missing(what) => format!("missing {what}"),
        StoreError::VersionConflict => "version conflict".into(),
        StoreError::Backend(msg) => format!("backend: {msg}"),
    }
}

pub fn outcome<T>(r: &Result<T, StoreError>) -> Result<(), String> {
    r.as_ref().map(|_| ()).map_err(kind)
}
