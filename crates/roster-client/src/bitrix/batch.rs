//! Batch: many calls packed into `batch` requests of at most 50 commands, each command a
//! `method?query` string built PHP-style (`FILTER[NAME]=Ann&UF_DEPARTMENT[0]=1`). Results
//! come back per command, in command order, each a result or an [`ApiError`]; nothing is
//! dropped. Halting stays off so one bad row does not stop the others.

use serde_json::Value;

use super::{envelope, Bitrix24};
use crate::{ApiError, Error, Map};

/// Commands per `batch` request (the portal's limit).
pub const BATCH_SIZE: usize = 50;

/// One method call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub params: Map,
}

impl Call {
    pub fn new(method: &str, params: Map) -> Call {
        Call { method: method.to_string(), params }
    }

    /// The batch command string: `method?query`.
    pub fn command(&self) -> String {
        format!("{}?{}", self.method, http_build_query(&self.params))
    }
}

/// One command's outcome inside a batch reply.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    pub result: Result<Value, ApiError>,
    pub total: Option<u64>,
    pub next: Option<u64>,
}

impl Bitrix24 {
    /// Runs up to 50 calls as one `batch` request (`halt` stops at the first error; the
    /// calls after it then come back as `ERROR_BATCH_HALTED` here). Keys are `c0`, `c1`, ...
    pub async fn batch(&self, calls: &[Call], halt: bool) -> Result<Vec<BatchItem>, Error> {
        if calls.len() > BATCH_SIZE {
            return Err(Error::Config(format!("a batch holds at most {BATCH_SIZE} calls, got {}", calls.len())));
        }
        let mut cmd = Map::new();
        for (i, c) in calls.iter().enumerate() {
            cmd.insert(format!("c{i}"), Value::String(c.command()));
        }
        let mut params = Map::new();
        params.insert("halt".into(), Value::from(u8::from(halt)));
        params.insert("cmd".into(), Value::Object(cmd));
        let reply = self.send("batch", &params).await?;
        let env = envelope("batch", &self.shown_url("batch"), reply)?;
        let section = |name: &str, key: &str| env.result.get(name).and_then(|s| s.get(key)).cloned();
        let mut items = Vec::with_capacity(calls.len());
        for (i, call) in calls.iter().enumerate() {
            let key = format!("c{i}");
            if let (Some(g), Some(time)) = (&self.operating, section("result_time", &key)) {
                g.record(&call.method, &time);
            }
            let result = match (section("result_error", &key), section("result", &key)) {
                (Some(err), _) => Err(sub_error(&call.method, &err)),
                (None, Some(v)) => Ok(v),
                (None, None) => Err(ApiError {
                    method: call.method.clone(),
                    status: 200,
                    code: "ERROR_BATCH_HALTED".into(),
                    description: "not run: the batch stopped before this command".into(),
                    body: Value::Null,
                }),
            };
            let num = |name: &str| section(name, &key).and_then(|v| v.as_u64());
            items.push(BatchItem { result, total: num("result_total"), next: num("result_next") });
        }
        Ok(items)
    }

    /// Runs any number of calls through batches of 50, one batch after another, and
    /// returns one outcome per call in order. `progress` is told how many calls are done.
    /// A batch that fails as a whole (transport, auth) ends the run with that error.
    pub async fn call_many(
        &self,
        calls: Vec<Call>,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Result<Value, ApiError>>, Error> {
        let mut out = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(BATCH_SIZE) {
            for item in self.batch(chunk, false).await? {
                out.push(item.result);
            }
            progress(out.len());
        }
        Ok(out)
    }
}

fn sub_error(method: &str, err: &Value) -> ApiError {
    match err {
        Value::Object(_) => ApiError::from_bitrix(method, 200, err).unwrap_or_else(|| ApiError {
            method: method.into(),
            status: 200,
            code: String::new(),
            description: err.to_string(),
            body: err.clone(),
        }),
        other => ApiError {
            method: method.into(),
            status: 200,
            code: other.as_str().unwrap_or_default().to_string(),
            description: String::new(),
            body: other.clone(),
        },
    }
}

/// PHP's `http_build_query`: nested objects and lists become `a[b][0]=v`, values are
/// percent-encoded, `true`/`false` become `Y`/`N` (Bitrix24 flags), `null` and empty
/// lists are left out (PHP leaves them out too).
pub fn http_build_query(params: &Map) -> String {
    let mut pairs: Vec<String> = Vec::new();
    for (k, v) in params {
        push_pairs(&mut pairs, &encode(k), v);
    }
    pairs.join("&")
}

fn push_pairs(out: &mut Vec<String>, key: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(format!("{key}={}", if *b { "Y" } else { "N" })),
        Value::Number(n) => out.push(format!("{key}={n}")),
        Value::String(s) => out.push(format!("{key}={}", encode(s))),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                push_pairs(out, &format!("{key}[{i}]"), item);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                push_pairs(out, &format!("{key}[{}]", encode(k)), item);
            }
        }
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_query() {
        let p = json!({"FILTER": {">ID": 5, "NAME": "Ann Lee"}, "UF_DEPARTMENT": [1, 2], "ACTIVE": true, "X": null, "E": "a+b@x.org"});
        let Value::Object(p) = p else { unreachable!() };
        assert_eq!(
            http_build_query(&p),
            "FILTER[%3EID]=5&FILTER[NAME]=Ann+Lee&UF_DEPARTMENT[0]=1&UF_DEPARTMENT[1]=2&ACTIVE=Y&E=a%2Bb%40x.org"
        );
        assert_eq!(Call::new("user.current", Map::new()).command(), "user.current?");
    }
}
