//! `apiinfo.version`: the configured Zabbix version, without authentication; its
//! parameters must be empty.

use serde_json::Value as Json;

use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::{as_object, check_unexpected};

pub fn version(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let obj = as_object(params).unwrap_or_default();
    check_unexpected(&obj, &[], "/").map_err(ZbxError::params)?;
    Ok(Json::String(call.version().to_string()))
}
