//! `department.fields/get/add/update/delete`: the company tree behind `UF_DEPARTMENT`.
//! Reading is open to the scope; changes are for administrators (403 `ACCESS_DENIED`).

use axum::http::StatusCode;
use roster_core::{CoreError, DepartmentId, DepartmentPatch, DepartmentQuery, NewDepartment, UserId};
use serde_json::{json, Map, Value as Json};

use super::Call;
use crate::envelope::Reply;
use crate::error::BxError;
use crate::input::{int_list, int_of, text_of, Params};
use roster_core::audit::{ACTION_ADD, ACTION_DELETE, ACTION_UPDATE, RESOURCE_DEPARTMENT};

pub fn fields() -> Reply {
    Reply::new(
        json!({"ID": "ID", "NAME": "Name", "SORT": "Sorting", "PARENT": "Parent department", "UF_HEAD": "Supervisor"}),
    )
}

fn denied(e: CoreError) -> BxError {
    match e {
        CoreError::AccessDenied => BxError::new(StatusCode::FORBIDDEN, "ACCESS_DENIED", "Access denied!"),
        CoreError::NotFound("department") => {
            BxError::new(StatusCode::BAD_REQUEST, "ERROR_NOT_FOUND", "Department not found")
        }
        CoreError::NotFound("parent department") => BxError::core("Parent department not found"),
        other => other.into(),
    }
}

pub async fn get(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let source = match params.get("FILTER") {
        Some(Json::Object(m)) => Params(m),
        _ => params.clone(),
    };
    let query = DepartmentQuery {
        id: source
            .get("ID")
            .and_then(|v| int_list(&v))
            .map(|ids| ids.into_iter().filter_map(DepartmentId::new).collect()),
        name: source.get("NAME").and_then(|v| text_of(&v)),
        parent: source.get("PARENT").and_then(|v| int_of(&v)).and_then(DepartmentId::new),
        head: source.get("UF_HEAD").and_then(|v| int_of(&v)).and_then(UserId::new),
    };
    if query.id.as_ref().is_some_and(|ids| ids.len() > crate::filter::MAX_FILTER_VALUES) {
        return Err(BxError::argument(
            format!("ID may hold at most {} values", crate::filter::MAX_FILTER_VALUES),
            "ID",
        ));
    }
    let all = call.bx.dir.departments(&query).await?;
    let start = params.0.get("start").and_then(int_of).unwrap_or(0).max(0) as u64;
    let total = all.len() as u64;
    let items: Vec<Json> = all
        .iter()
        .skip(start as usize)
        .take(50)
        .map(|d| {
            let mut o = Map::new();
            o.insert("ID".into(), json!(d.id.to_string()));
            o.insert("NAME".into(), json!(d.name));
            o.insert("SORT".into(), json!(d.sort));
            if let Some(p) = d.parent {
                o.insert("PARENT".into(), json!(p.to_string()));
            }
            if let Some(h) = d.head {
                o.insert("UF_HEAD".into(), json!(h.to_string()));
            }
            Json::Object(o)
        })
        .collect();
    Ok(Reply::page(items, start, Some(total)))
}

pub async fn add(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let name = params.get("NAME").and_then(|v| text_of(&v)).unwrap_or_default();
    if name.trim().is_empty() {
        return Err(BxError::core("Department name is required"));
    }
    let dept = NewDepartment {
        name,
        sort: params.get("SORT").and_then(|v| int_of(&v)).unwrap_or(500),
        parent: Some(
            params.get("PARENT").and_then(|v| int_of(&v)).and_then(DepartmentId::new).unwrap_or(DepartmentId::ROOT),
        ),
        head: params.get("UF_HEAD").and_then(|v| int_of(&v)).and_then(UserId::new),
    };
    let name = dept.name.clone();
    let id = call.bx.dir.add_department(call.actor, dept).await.map_err(denied)?;
    call.record(ACTION_ADD, RESOURCE_DEPARTMENT, Some(id.get()), &name, json!({"department.name": ["add", name]}))
        .await;
    Ok(Reply::new(json!(id.get())))
}

fn id_of(params: &Params) -> Result<DepartmentId, BxError> {
    params
        .get("ID")
        .and_then(|v| int_of(&v))
        .and_then(DepartmentId::new)
        .ok_or_else(|| BxError::argument("ID is not defined or invalid", "ID"))
}

pub async fn update(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let id = id_of(params)?;
    let patch = DepartmentPatch {
        name: params.get("NAME").and_then(|v| text_of(&v)).filter(|n| !n.trim().is_empty()),
        sort: params.get("SORT").and_then(|v| int_of(&v)),
        parent: params.get("PARENT").map(|v| int_of(&v).and_then(DepartmentId::new)),
        head: params.get("UF_HEAD").map(|v| int_of(&v).and_then(UserId::new)),
    };
    let details = json!({"department": ["update", format!("{patch:?}")]});
    call.bx.dir.update_department(call.actor, id, patch).await.map_err(denied)?;
    call.record(ACTION_UPDATE, RESOURCE_DEPARTMENT, Some(id.get()), "", details).await;
    Ok(Reply::new(Json::Bool(true)))
}

pub async fn delete(call: &Call<'_>, params: &Params) -> Result<Reply, BxError> {
    let id = id_of(params)?;
    call.bx.dir.delete_department(call.actor, id).await.map_err(denied)?;
    call.record(ACTION_DELETE, RESOURCE_DEPARTMENT, Some(id.get()), "", json!({})).await;
    Ok(Reply::new(Json::Bool(true)))
}
