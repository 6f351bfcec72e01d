//! What each request looks like: builds the POST for a face/scenario pair
//! (Bitrix24 webhook method or Zabbix JSON-RPC call, with random or
//! round-robin ids) and decides whether a response counts as OK.

use std::borrow::Cow;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use rand::Rng;
use serde_json::Value;

use crate::cli::{Face, Scenario};
use crate::target::Target;

/// Commands in one Bitrix24 `batch` call.
pub const BATCH_CMDS: u64 = 50;
/// Replaced in the search word by the request's random id (`--find 'Name{id}'`).
pub const ID_PLACEHOLDER: &str = "{id}";

/// Which updates a counted batch call carries (`--total` mode): update
/// numbers `first..first + count`, mapped round-robin onto the id range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub first: u64,
    pub count: u64,
}

/// Request template shared by all connections.
#[derive(Debug, Clone)]
pub struct Plan {
    pub face: Face,
    pub scenario: Scenario,
    uri: Uri,
    host: HeaderValue,
    content_type: HeaderValue,
    auth: Option<HeaderValue>,
    id_min: u64,
    id_max: u64,
    find_json: String,
}

impl Plan {
    /// Checks the face/scenario pair and prepares the request template.
    pub fn new(
        face: Face,
        scenario: Scenario,
        target: &Target,
        token: Option<&str>,
        ids: (u64, u64),
        find: &str,
    ) -> Result<Plan> {
        let (id_min, id_max) = ids;
        if id_min > id_max {
            bail!("--id-min {id_min} is greater than --id-max {id_max}");
        }
        let path = match face {
            Face::Bitrix24 => {
                let sep = if target.path.ends_with('/') { "" } else { "/" };
                format!("{}{sep}{}", target.path, bitrix_method(scenario))
            }
            Face::Zabbix if scenario == Scenario::Batch => {
                bail!("--scenario batch exists only for --face bitrix24")
            }
            Face::Zabbix => target.path.clone(),
        };
        let auth = match (face, token) {
            (Face::Zabbix, Some(t)) => Some(
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .context("--token contains characters not allowed in a header")?,
            ),
            _ => None,
        };
        let content_type = match face {
            Face::Bitrix24 => "application/json",
            Face::Zabbix => "application/json-rpc",
        };
        Ok(Plan {
            face,
            scenario,
            uri: path.parse().context("request path is not a valid URI path")?,
            host: HeaderValue::from_str(&target.authority).context("bad host in --url")?,
            content_type: HeaderValue::from_static(content_type),
            auth,
            id_min,
            id_max,
            find_json: Value::from(find).to_string(),
        })
    }

    /// API method the scenario calls, for the report line.
    pub fn method(&self) -> &'static str {
        match (self.face, self.scenario) {
            (Face::Zabbix, Scenario::Search) => "user.get",
            (_, s) => bitrix_method(s),
        }
    }

    /// Body for request number `seq` of a connection, and how many user
    /// updates it carries. `slot` fixes the ids of a counted batch call.
    pub fn body(&self, rng: &mut impl Rng, seq: u64, slot: Option<Slot>) -> (Bytes, u64) {
        let id = rng.gen_range(self.id_min..=self.id_max);
        let name: u32 = rng.gen();
        let email = format!("\"user{id}@example.com\"");
        let text = match (self.face, self.scenario) {
            (Face::Bitrix24, Scenario::Update) => {
                let phone: u64 = rng.gen_range(0..10_000_000_000);
                format!(r#"{{"ID":{id},"NAME":"n{name}","WORK_PHONE":"{phone:010}"}}"#)
            }
            (Face::Bitrix24, Scenario::Get) => format!(r#"{{"FILTER":{{"EMAIL":{email}}}}}"#),
            (Face::Bitrix24, Scenario::Search) => {
                format!(r#"{{"FILTER":{{"FIND":{}}}}}"#, self.find(id))
            }
            (Face::Bitrix24, Scenario::Batch) => return self.batch_body(rng, slot),
            (Face::Zabbix, Scenario::Update) => {
                let params = format!(r#"{{"userid":"{id}","name":"n{name}"}}"#);
                jsonrpc("user.update", &params, seq)
            }
            (Face::Zabbix, Scenario::Get) => {
                let params = format!(r#"{{"output":"extend","filter":{{"username":{email}}}}}"#);
                jsonrpc("user.get", &params, seq)
            }
            (Face::Zabbix, Scenario::Search) => {
                let find = self.find(id);
                let params = format!(r#"{{"output":"extend","search":{{"username":{find}}}}}"#);
                jsonrpc("user.get", &params, seq)
            }
            (Face::Zabbix, Scenario::Batch) => unreachable!("refused in Plan::new"),
        };
        let updates = u64::from(self.scenario == Scenario::Update);
        (Bytes::from(text), updates)
    }

    /// The search word as JSON, with [`ID_PLACEHOLDER`] replaced by `id`.
    fn find(&self, id: u64) -> Cow<'_, str> {
        if self.find_json.contains(ID_PLACEHOLDER) {
            Cow::Owned(self.find_json.replace(ID_PLACEHOLDER, &id.to_string()))
        } else {
            Cow::Borrowed(&self.find_json)
        }
    }

    fn batch_body(&self, rng: &mut impl Rng, slot: Option<Slot>) -> (Bytes, u64) {
        let span = self.id_max - self.id_min + 1;
        let count = slot.map_or(BATCH_CMDS, |s| s.count);
        let mut text = String::with_capacity(64 + 48 * count as usize);
        text.push_str(r#"{"halt":0,"cmd":{"#);
        for j in 0..count {
            let id = match slot {
                Some(s) => self.id_min + (s.first + j) % span,
                None => rng.gen_range(self.id_min..=self.id_max),
            };
            let name: u32 = rng.gen();
            if j > 0 {
                text.push(',');
            }
            text.push_str(&format!(r#""c{j}":"user.update?ID={id}&NAME=n{name}""#));
        }
        text.push_str("}}");
        (Bytes::from(text), count)
    }

    /// The full POST request carrying `body`.
    pub fn request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.uri.clone();
        let headers = req.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, self.content_type.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static("roster-load"));
        if let Some(auth) = &self.auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        req
    }

    /// `Ok` when the response counts as a success, else a description of
    /// the failure (status and body) for the error samples.
    pub fn check(&self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        let fail = || {
            let text = String::from_utf8_lossy(body);
            format!("HTTP {}: {}", status.as_u16(), text.trim())
        };
        if status != StatusCode::OK {
            return Err(fail());
        }
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err(fail());
        };
        if map.contains_key("error") {
            return Err(fail());
        }
        let Some(result) = map.get("result") else {
            return Err(fail());
        };
        if self.scenario == Scenario::Batch {
            let clean = match result.get("result_error") {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                _ => false,
            };
            if !clean {
                return Err(fail());
            }
        }
        Ok(())
    }
}

fn bitrix_method(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Update => "user.update",
        Scenario::Get => "user.get",
        Scenario::Search => "user.search",
        Scenario::Batch => "batch",
    }
}

fn jsonrpc(method: &str, params: &str, id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":{id}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_target;
    use rand::{rngs::StdRng, SeedableRng};

    fn plan(face: Face, scenario: Scenario, url: &str) -> Plan {
        let t = parse_target(url).unwrap();
        Plan::new(face, scenario, &t, Some("tok"), (5, 7), "a\"b").unwrap()
    }

    #[test]
    fn bodies_are_valid_json() {
        let mut rng = StdRng::seed_from_u64(1);
        for s in [Scenario::Update, Scenario::Get, Scenario::Search, Scenario::Batch] {
            let p = plan(Face::Bitrix24, s, "http://127.0.0.1:1/rest/1/x");
            let (b, _) = p.body(&mut rng, 1, None);
            let v: Value = serde_json::from_slice(&b).unwrap();
            assert!(v.is_object(), "{s:?}");
            assert!(p.uri.path().ends_with(&format!("/rest/1/x/{}", p.method())));
            if s != Scenario::Batch {
                let p = plan(Face::Zabbix, s, "http://127.0.0.1:1/api_jsonrpc.php");
                let (b, _) = p.body(&mut rng, 9, None);
                let v: Value = serde_json::from_slice(&b).unwrap();
                assert_eq!(v["id"], 9);
                assert_eq!(p.request(b).headers()[AUTHORIZATION], "Bearer tok");
            }
        }
    }

    #[test]
    fn find_placeholder_takes_the_id() {
        let t = parse_target("http://127.0.0.1:1/r/").unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let p = Plan::new(Face::Bitrix24, Scenario::Search, &t, None, (8, 8), "Name{id}").unwrap();
        let (b, _) = p.body(&mut rng, 1, None);
        assert_eq!(&b[..], br#"{"FILTER":{"FIND":"Name8"}}"#);
        let p = Plan::new(Face::Bitrix24, Scenario::Search, &t, None, (8, 8), "x").unwrap();
        let (b, _) = p.body(&mut rng, 1, None);
        assert_eq!(&b[..], br#"{"FILTER":{"FIND":"x"}}"#);
    }

    #[test]
    fn batch_slot_is_round_robin() {
        let p = plan(Face::Bitrix24, Scenario::Batch, "http://127.0.0.1:1/r/");
        let mut rng = StdRng::seed_from_u64(2);
        let (b, n) = p.body(&mut rng, 1, Some(Slot { first: 2, count: 4 }));
        assert_eq!(n, 4);
        let v: Value = serde_json::from_slice(&b).unwrap();
        let ids: Vec<String> = (0..4)
            .map(|j| v["cmd"][format!("c{j}")].as_str().unwrap().to_string())
            .map(|c| c.split(['=', '&']).nth(1).unwrap().to_string())
            .collect();
        assert_eq!(ids, ["7", "5", "6", "7"]);
    }

    #[test]
    fn check_rules() {
        let u = plan(Face::Bitrix24, Scenario::Update, "http://127.0.0.1:1/r/");
        let ok = StatusCode::OK;
        assert!(u.check(ok, br#"{"result":true}"#).is_ok());
        assert!(u.check(ok, br#"{"result":true,"error":"x"}"#).is_err());
        assert!(u.check(ok, br#"{"error":"x"}"#).is_err());
        assert!(u.check(ok, b"nope").is_err());
        let e = u.check(StatusCode::BAD_REQUEST, br#"{"result":1}"#);
        assert_eq!(e.unwrap_err(), r#"HTTP 400: {"result":1}"#);
        let b = plan(Face::Bitrix24, Scenario::Batch, "http://127.0.0.1:1/r/");
        assert!(b.check(ok, br#"{"result":{"result":{},"result_error":[]}}"#).is_ok());
        assert!(b.check(ok, br#"{"result":{"result":{},"result_error":{}}}"#).is_ok());
        assert!(b.check(ok, br#"{"result":{"result_error":{"c1":"x"}}}"#).is_err());
        assert!(b.check(ok, br#"{"result":{"result":{}}}"#).is_err());
    }

    #[test]
    fn zabbix_batch_and_bad_range_refused() {
        let t = parse_target("http://127.0.0.1:1/").unwrap();
        assert!(Plan::new(Face::Zabbix, Scenario::Batch, &t, None, (1, 2), "").is_err());
        assert!(Plan::new(Face::Bitrix24, Scenario::Get, &t, None, (3, 2), "").is_err());
    }
}
