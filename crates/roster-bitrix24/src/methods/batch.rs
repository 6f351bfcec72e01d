//! `batch` (spec 2.8): up to 50 `method?query` commands run in order with the caller's
//! identity, `$result[key][...]` references to earlier results, `halt`, and the
//! `result`/`result_error`/`result_total`/`result_next`/`result_time` reply.

use serde_json::{json, Map, Value as Json};

use super::{run_timed, Call};
use crate::envelope::{error_body, Reply};
use crate::error::BxError;
use crate::input::{truthy, Params};
use crate::params::{self, Limits};
use crate::transport::RESERVED;

pub const MAX_COMMANDS: usize = 50;

/// Results so far, by kind, keyed by command key; also the reference namespace.
#[derive(Default)]
struct Outcome {
    result: Map<String, Json>,
    error: Map<String, Json>,
    total: Map<String, Json>,
    next: Map<String, Json>,
    time: Map<String, Json>,
}

pub async fn run(call: &Call<'_>, params: Params) -> Result<Reply, BxError> {
    let halt = params.get("HALT").is_some_and(|v| truthy(&v));
    let commands: Vec<(String, Json)> = match params.get("CMD") {
        Some(Json::Object(map)) => map.into_iter().collect(),
        Some(Json::Array(items)) => items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    let writes = commands.iter().any(|(_, c)| c.as_str().is_some_and(writes));
    // The commands' writes skip their own flushes; one flushed commit below makes all of
    // them durable before the batch answers (an fsync per command would dominate).
    let out = roster_core::store::with_deferred_sync(run_commands(call, commands, halt)).await;
    if writes {
        call.bx.dir.store().sync().await.map_err(|e| BxError::from_core(e.into()))?;
    }
    Ok(Reply::new(json!({
        "result": php_array(out.result),
        "result_error": php_array(out.error),
        "result_total": php_array(out.total),
        "result_next": php_array(out.next),
        "result_time": php_array(out.time),
    })))
}

/// Whether a command may change anything (read-only batches need no flush).
fn writes(cmd: &str) -> bool {
    let method = cmd.split('?').next().unwrap_or("").trim().to_ascii_lowercase();
    [".add", ".update", ".delete", ".bind", ".unbind", "event.offline"].iter().any(|w| method.contains(w))
}

async fn run_commands(call: &Call<'_>, commands: Vec<(String, Json)>, halt: bool) -> Outcome {
    let mut out = Outcome::default();
    let mut executed = 0usize;
    for (key, cmd) in commands {
        let Json::String(cmd) = cmd else { continue };
        executed += 1;
        if executed > call.bx.config.max_batch {
            out.error.insert(
                key,
                json!({"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}),
            );
            continue;
        }
        let failed = match one(call, &cmd, &out).await {
            Ok((reply, time)) => {
                out.result.insert(key.clone(), reply.result);
                if let Some(t) = reply.total {
                    out.total.insert(key.clone(), json!(t));
                }
                if let Some(n) = reply.next {
                    out.next.insert(key.clone(), json!(n));
                }
                out.time.insert(key, time);
                false
            }
            Err(e) => {
                out.error.insert(key, error_body(&e));
                true
            }
        };
        if failed && halt {
            break;
        }
    }
    out
}

async fn one(call: &Call<'_>, cmd: &str, done: &Outcome) -> Result<(Reply, Json), BxError> {
    let (path, query) = cmd.split_once('?').unwrap_or((cmd, ""));
    let method = path.trim().trim_start_matches('/').to_lowercase();
    let method = method.strip_suffix(".json").unwrap_or(&method).to_owned();
    if matches!(method.as_str(), "batch" | "download" | "upload") {
        return Err(BxError::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "Method is not allowed for batch usage",
        ));
    }
    let mut map = Map::new();
    let limits = Limits { max_depth: call.bx.config.max_depth, ..Limits::default() };
    params::decode_form(query.as_bytes(), &mut map, &limits)
        .map_err(|e| BxError::argument(format!("Invalid request parameters: {e}"), ""))?;
    for key in RESERVED {
        if *key != "start" {
            map.remove(*key);
        }
    }
    let map = resolve_all(Json::Object(map), done);
    let Json::Object(map) = map else { return Err(BxError::internal()) };
    // `If-Match` belongs to one call, never to the commands of a batch.
    let sub = Call { if_match: None, ..*call };
    match run_timed(&sub, &method, Params(map)).await {
        Ok((reply, timing)) => Ok((reply, timing.to_json())),
        Err(e) if e.code == "insufficient_scope" => Err(BxError { description: String::new(), ..e }),
        Err(e) => Err(e),
    }
}

/// PHP's `json_encode` of an array: `[]` when empty, a list when keyed 0..n-1, else an object.
fn php_array(map: Map<String, Json>) -> Json {
    if map.is_empty() {
        return Json::Array(Vec::new());
    }
    if map.keys().enumerate().all(|(i, k)| *k == i.to_string()) {
        return Json::Array(map.into_iter().map(|(_, v)| v).collect());
    }
    Json::Object(map)
}

fn resolve_all(value: Json, done: &Outcome) -> Json {
    match value {
        Json::String(s) => resolve(&s, done),
        Json::Array(items) => Json::Array(items.into_iter().map(|v| resolve_all(v, done)).collect()),
        Json::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, resolve_all(v, done))).collect()),
        other => other,
    }
}

/// A reference found in a string: its byte span and the value it points at, if any.
fn find_refs<'a>(s: &str, done: &'a Outcome) -> Vec<(usize, usize, Option<&'a Json>)> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(pos) = s[i..].find('$') {
        let at = i + pos;
        let rest = &s[at + 1..];
        let name_len = rest.find('[').unwrap_or(0);
        let ns = match &rest[..name_len] {
            "result" => Some(&done.result),
            "error" => Some(&done.error),
            "total" => Some(&done.total),
            "next" => Some(&done.next),
            "time" => Some(&done.time),
            _ => None,
        };
        let Some(ns) = ns else {
            i = at + 1;
            continue;
        };
        let mut end = at + 1 + name_len;
        let mut path: Vec<&str> = Vec::new();
        while s[end..].starts_with('[') {
            match s[end + 1..].find(']') {
                Some(close) => {
                    path.push(&s[end + 1..end + 1 + close]);
                    end += close + 2;
                }
                None => break,
            }
        }
        if path.is_empty() {
            i = at + 1;
            continue;
        }
        let mut cur: Option<&Json> = ns.get(path[0]);
        for seg in &path[1..] {
            cur = cur.and_then(|v| match v {
                Json::Object(m) => m.get(*seg),
                Json::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            });
        }
        found.push((at, end, cur));
        i = end;
    }
    found
}

fn resolve(s: &str, done: &Outcome) -> Json {
    let refs = find_refs(s, done);
    if refs.is_empty() {
        return Json::String(s.to_owned());
    }
    if let [(0, end, Some(v))] = refs.as_slice() {
        if *end == s.len() {
            return (*v).clone();
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (start, end, value) in refs {
        out.push_str(&s[last..start]);
        match value {
            Some(Json::String(t)) => out.push_str(t),
            Some(Json::Number(n)) => out.push_str(&n.to_string()),
            Some(Json::Bool(b)) => out.push_str(if *b { "1" } else { "" }),
            _ => out.push_str(&s[start..end]),
        }
        last = end;
    }
    out.push_str(&s[last..]);
    Json::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_raw_and_spliced() {
        let mut done = Outcome::default();
        done.result.insert("u".into(), json!([{"ID": "7", "UF_DEPARTMENT": [3, 4]}]));
        assert_eq!(resolve("$result[u][0][UF_DEPARTMENT]", &done), json!([3, 4]));
        assert_eq!(resolve("id=$result[u][0][ID]!", &done), json!("id=7!"));
        assert_eq!(resolve("$result[nope][0]", &done), json!("$result[nope][0]"));
        assert_eq!(resolve("plain $5", &done), json!("plain $5"));
    }

    #[test]
    fn php_arrays() {
        assert_eq!(php_array(Map::new()), json!([]));
        let mut m = Map::new();
        m.insert("0".into(), json!(1));
        m.insert("1".into(), json!(2));
        assert_eq!(php_array(m.clone()), json!([1, 2]));
        m.remove("0");
        assert_eq!(php_array(m), json!({"1": 2}));
    }
}
