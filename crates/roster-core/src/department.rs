//! Departments: the company tree that gives `UF_DEPARTMENT` ids and the user type meaning.

use crate::ids::{DepartmentId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    pub sort: i64,
    pub parent: Option<DepartmentId>,
    pub head: Option<UserId>,
}

/// A department to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDepartment {
    pub name: String,
    pub sort: i64,
    pub parent: Option<DepartmentId>,
    pub head: Option<UserId>,
}

/// A partial update of a department; `None` leaves a part unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentPatch {
    pub name: Option<String>,
    pub sort: Option<i64>,
    pub parent: Option<Option<DepartmentId>>,
    pub head: Option<Option<UserId>>,
}

/// Which departments to list; every part that is set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentQuery {
    pub id: Option<Vec<DepartmentId>>,
    pub name: Option<String>,
    pub parent: Option<DepartmentId>,
    pub head: Option<UserId>,
}
