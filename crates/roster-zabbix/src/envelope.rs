//! The JSON-RPC envelope as Zabbix's CJsonRpc handles it: decoding, single calls and
//! batches (answered in order), strict validation of each call object with the
//! validator's texts, notifications (no `id`: no answer), the id echoed with its JSON
//! type, and the shape of result and error answers.

use serde_json::{json, Map, Value as Json};

use crate::error::ZbxError;
use crate::methods;
use crate::validate::{as_object, check_unexpected, invalid, is_array, missing};
use crate::{RequestCtx, Zabbix};

/// What the HTTP answer carries.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// HTTP 200 with an empty body (notifications only).
    Empty,
    Body(Json),
    /// HTTP 500 with an empty body.
    Fatal,
}

/// One validated call.
#[derive(Debug)]
pub struct CallEnv {
    pub method: String,
    pub params: Json,
    /// The `auth` member when it is a string (None when missing or null).
    pub auth: Option<String>,
    /// The id to answer with; None for a notification.
    pub id: Option<Json>,
}

enum Outcome {
    Answer(Json),
    Silent,
    Fatal,
}

/// Handles a whole request body.
pub async fn handle(zbx: &Zabbix, body: &[u8], ctx: &RequestCtx) -> Answer {
    let decoded: Json = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Answer::Body(error_answer(&ZbxError::parse(), Json::Null)),
    };
    if !is_array(&decoded) || is_empty(&decoded) {
        let err = ZbxError::invalid_request("The received JSON is not a valid JSON-RPC request.");
        return Answer::Body(error_answer(&err, Json::Null));
    }
    let batch: Option<Vec<Json>> = match &decoded {
        Json::Array(items) => Some(items.clone()),
        // PHP treats an object whose first key is 0 as a list, too.
        Json::Object(o) if o.keys().next().is_some_and(|k| k == "0") => Some(o.values().cloned().collect()),
        _ => None,
    };
    match batch {
        None => match run_call(zbx, &decoded, ctx).await {
            Outcome::Answer(a) => Answer::Body(a),
            Outcome::Silent => Answer::Empty,
            Outcome::Fatal => Answer::Fatal,
        },
        Some(items) => {
            let mut answers = Vec::with_capacity(items.len());
            for item in &items {
                match run_call(zbx, item, ctx).await {
                    Outcome::Answer(a) => answers.push(a),
                    Outcome::Silent => {}
                    Outcome::Fatal => return Answer::Fatal,
                }
            }
            if answers.is_empty() {
                Answer::Empty
            } else {
                Answer::Body(Json::Array(answers))
            }
        }
    }
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        _ => false,
    }
}

async fn run_call(zbx: &Zabbix, item: &Json, ctx: &RequestCtx) -> Outcome {
    let env = match validate_call(item, zbx.version().body_auth()) {
        Ok(env) => env,
        Err((err, id)) => return Outcome::Answer(error_answer(&err, id)),
    };
    let result = methods::dispatch(zbx, &env, ctx).await;
    match (env.id, result) {
        (_, Err(ZbxError::Fatal)) => Outcome::Fatal,
        (None, _) => Outcome::Silent,
        (Some(id), Ok(result)) => Outcome::Answer(json!({"jsonrpc": "2.0", "result": result, "id": id})),
        (Some(id), Err(err)) => Outcome::Answer(error_answer(&err, id)),
    }
}

/// `{"jsonrpc":"2.0","error":{...},"id":...}`.
pub fn error_answer(err: &ZbxError, id: Json) -> Json {
    json!({"jsonrpc": "2.0", "error": err.to_json(), "id": id})
}

fn valid_id(v: &Json) -> bool {
    matches!(v, Json::String(_) | Json::Number(_) | Json::Null)
}

/// Validates one call object in Zabbix's order; an error comes with the id to answer with.
pub fn validate_call(item: &Json, body_auth: bool) -> Result<CallEnv, (ZbxError, Json)> {
    let Some(obj) = as_object(item) else {
        return Err((ZbxError::invalid_request(invalid("/", "an array is expected")), Json::Null));
    };
    let id = obj.get("id").filter(|v| valid_id(v)).cloned();
    let answer_id = id.clone().unwrap_or(Json::Null);
    let fail = |text: String| Err((ZbxError::invalid_request(text), answer_id.clone()));
    let allowed: &[&str] =
        if body_auth { &["jsonrpc", "method", "params", "auth", "id"] } else { &["jsonrpc", "method", "params", "id"] };
    if let Err(text) = check_unexpected(&obj, allowed, "/") {
        return fail(text);
    }
    match obj.get("jsonrpc") {
        None => return fail(missing("/", "jsonrpc")),
        Some(Json::String(s)) if s == "2.0" => {}
        Some(Json::String(_)) => return fail(invalid("/jsonrpc", "value must be \"2.0\"")),
        Some(_) => return fail(invalid("/jsonrpc", "a character string is expected")),
    }
    let method = match obj.get("method") {
        None => return fail(missing("/", "method")),
        Some(Json::String(s)) => s.clone(),
        Some(_) => return fail(invalid("/method", "a character string is expected")),
    };
    let params = match obj.get("params") {
        None => return fail(missing("/", "params")),
        Some(p) if is_array(p) => p.clone(),
        Some(_) => return fail(invalid("/params", "an array or object is expected")),
    };
    let auth = match obj.get("auth") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.is_empty() => return fail(invalid("/auth", "cannot be empty")),
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return fail(invalid("/auth", "a character string is expected")),
    };
    if let Some(v) = obj.get("id") {
        if !valid_id(v) {
            return fail(invalid("/id", "a string, number or null value is expected"));
        }
    }
    Ok(CallEnv { method, params, auth, id: notification_id(&obj, id) })
}

/// The id to answer with: None when the call has no `id` member (a notification).
fn notification_id(obj: &Map<String, Json>, id: Option<Json>) -> Option<Json> {
    obj.contains_key("id").then(|| id.unwrap_or(Json::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(item: Json) -> (String, Json) {
        match validate_call(&item, true) {
            Err((ZbxError::Rpc { data, .. }, id)) => (data, id),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn call_objects_are_checked_in_order() {
        let base = json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1});
        assert!(validate_call(&base, true).is_ok());
        let mut x = base.clone();
        x["x"] = json!(1);
        x["jsonrpc"] = json!("1.0");
        assert_eq!(data(x), ("Invalid parameter \"/\": unexpected parameter \"x\".".into(), json!(1)));
        assert_eq!(
            data(json!({"jsonrpc": "1.0", "id": "a"})).0,
            "Invalid parameter \"/jsonrpc\": value must be \"2.0\"."
        );
        assert_eq!(
            data(json!({"jsonrpc": "2.0", "method": "a.b"})).0,
            "Invalid parameter \"/\": the parameter \"params\" is missing."
        );
        assert_eq!(
            data(json!({"jsonrpc": "2.0", "method": "a.b", "params": 1})).0,
            "Invalid parameter \"/params\": an array or object is expected."
        );
        assert_eq!(
            data(json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "auth": ""})).0,
            "Invalid parameter \"/auth\": cannot be empty."
        );
        let (text, id) = data(json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "id": true}));
        assert_eq!(
            (text.as_str(), id),
            ("Invalid parameter \"/id\": a string, number or null value is expected.", Json::Null)
        );
        assert_eq!(data(json!(5)).0, "Invalid parameter \"/\": an array is expected.");
        assert_eq!(data(json!([1])).0, "Invalid parameter \"/\": unexpected parameter \"0\".");
        let no_auth = json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "auth": "x", "id": 1});
        assert!(validate_call(&no_auth, false).is_err());
    }

    #[test]
    fn notifications_have_no_id() {
        let call = validate_call(&json!({"jsonrpc": "2.0", "method": "a.b", "params": []}), true).expect("valid");
        assert_eq!(call.id, None);
        let call =
            validate_call(&json!({"jsonrpc": "2.0", "method": "a.b", "params": [], "id": null}), true).expect("valid");
        assert_eq!(call.id, Some(Json::Null));
    }
}
