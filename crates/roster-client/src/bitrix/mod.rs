//! The Bitrix24 REST client: a webhook URL (`…/rest/{user}/{code}/`) or a portal address
//! plus an OAuth token (sent as `auth`, first in the JSON body, as oint does). `send` gives
//! the raw reply; `call` reads the envelope and turns an `error` into [`ApiError`]; `list`
//! pages through a list method, fetching the pages after the first in `batch` calls.
//! Typed user methods are in `users.rs`, batch packing in `batch.rs`, oint's shapes in `oint.rs`.

pub mod batch;
pub mod oint;
mod users;

use reqwest::Url;
use serde_json::Value;

use crate::http::{mask_url, Http, Reply};
use crate::throttle::OperatingGuard;
use crate::{ApiError, ClientOptions, Error, Map};

/// Rows per page of a Bitrix24 list method.
pub const PAGE: u64 = 50;

/// A Bitrix24 client. Cheap to share by reference; every call is independent.
#[derive(Debug)]
pub struct Bitrix24 {
    http: Http,
    /// Ends with `/`; the method name is appended.
    base: Url,
    token: Option<String>,
    operating: Option<OperatingGuard>,
}

/// A successful reply's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub result: Value,
    pub total: Option<u64>,
    pub next: Option<u64>,
    pub time: Option<Value>,
}

impl Bitrix24 {
    /// A client for an inbound webhook URL such as `https://portal/rest/1/CODE/`. A URL
    /// without a scheme means https; an explicit `http://` is kept.
    pub fn webhook(url: &str, opts: ClientOptions) -> Result<Bitrix24, Error> {
        let base = parse_base(url)?;
        let segs: Vec<&str> = base.path().trim_matches('/').split('/').collect();
        let ok = segs.len() >= 3 && segs[segs.len() - 3] == "rest" && segs[segs.len() - 2].parse::<u64>().is_ok();
        if !ok {
            return Err(Error::Config(format!(
                "{} is not a webhook URL (…/rest/USER_ID/CODE/); give a portal address with a token instead",
                mask_url(&base)
            )));
        }
        Bitrix24::build(base, None, opts)
    }

    /// A client for a portal (`portal.bitrix24.com`, `https://host:port`) with an OAuth
    /// access token; calls go to `{portal}/rest/{method}` with `"auth": token` in the body.
    pub fn oauth(portal: &str, token: &str, opts: ClientOptions) -> Result<Bitrix24, Error> {
        let mut base = parse_base(portal)?;
        if !base.path().ends_with("/rest/") {
            let path = format!("{}rest/", base.path());
            base.set_path(&path);
        }
        Bitrix24::build(base, Some(token.to_string()), opts)
    }

    /// oint's rule: with a non-empty token `url` is a portal address, else a webhook URL.
    pub fn connect(url: &str, token: Option<&str>, opts: ClientOptions) -> Result<Bitrix24, Error> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Bitrix24::oauth(url, t, opts),
            None => Bitrix24::webhook(url, opts),
        }
    }

    fn build(base: Url, token: Option<String>, opts: ClientOptions) -> Result<Bitrix24, Error> {
        let host = base.host_str().unwrap_or_default().to_string();
        let http = Http::new(&opts, opts.rate.for_bitrix_host(&host))?;
        let operating = opts.operating_limit.map(OperatingGuard::new);
        Ok(Bitrix24 { http, base, token, operating })
    }

    /// The URL a method is posted to.
    pub fn method_url(&self, method: &str) -> Url {
        self.base.join(method.trim()).unwrap_or_else(|_| self.base.clone())
    }

    /// The URL of a method with a webhook secret masked, for messages and `--debug`.
    pub fn shown_url(&self, method: &str) -> String {
        mask_url(&self.method_url(method))
    }

    /// The JSON body sent for `params`: in token mode `auth` comes first, then the params.
    pub fn request_body(&self, params: &Map) -> Value {
        let mut body = Map::new();
        if let Some(t) = &self.token {
            body.insert("auth".into(), Value::String(t.clone()));
        }
        for (k, v) in params {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }

    /// Sends one call and returns the HTTP answer as it came (after retries), errors
    /// included. Only transport failures are `Err`.
    pub async fn send(&self, method: &str, params: &Map) -> Result<Reply, Error> {
        if let Some(g) = &self.operating {
            g.wait(method).await;
        }
        let body = self.request_body(params);
        let reply = self.http.post_json(&self.method_url(method), &body).await?;
        if let (Some(g), Some(time)) = (&self.operating, reply.body.get("time")) {
            g.record(method, time);
        }
        Ok(reply)
    }

    /// Sends one call and reads its envelope; an error answer becomes [`Error::Api`].
    pub async fn call(&self, method: &str, params: &Map) -> Result<Envelope, Error> {
        let reply = self.send(method, params).await?;
        envelope(method, &self.shown_url(method), reply)
    }

    /// Reads a reply of `method` (from [`Bitrix24::send`]) into its envelope; an error
    /// answer becomes [`Error::Api`], a non-JSON one [`Error::NotJson`].
    pub fn read_reply(&self, method: &str, reply: Reply) -> Result<Envelope, Error> {
        envelope(method, &self.shown_url(method), reply)
    }

    /// Every row of a list method (`user.get`, `user.search`, ...): the first page by a
    /// plain call, the rest (`start` = 50, 100, ... below `total`) in batches of 50 pages.
    pub async fn list(&self, method: &str, params: &Map) -> Result<Vec<Value>, Error> {
        self.list_with_progress(method, params, |_, _| {}).await
    }

    /// [`Bitrix24::list`], telling `progress(rows_so_far, total)` after each request.
    pub async fn list_with_progress(
        &self,
        method: &str,
        params: &Map,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Vec<Value>, Error> {
        let first = self.call(method, params).await?;
        let mut rows = rows_of(method, first.result)?;
        let total = first.total.unwrap_or(rows.len() as u64);
        progress(rows.len() as u64, total);
        let Some(next) = first.next else {
            return Ok(rows);
        };
        let pages: Vec<batch::Call> = (0..)
            .map(|i| next + i * PAGE)
            .take_while(|start| *start < total)
            .map(|start| {
                let mut p = params.clone();
                p.insert("start".into(), Value::from(start));
                batch::Call::new(method, p)
            })
            .collect();
        for chunk in pages.chunks(batch::BATCH_SIZE) {
            for item in self.batch(chunk, false).await? {
                rows.extend(rows_of(method, item.result.map_err(Error::from)?)?);
            }
            progress(rows.len() as u64, total);
        }
        Ok(rows)
    }
}

/// Reads a reply into an envelope; a body with `error`, or a non-2xx status, is an error.
pub(crate) fn envelope(method: &str, url: &str, reply: Reply) -> Result<Envelope, Error> {
    if let Some(e) = ApiError::from_bitrix(method, reply.status, &reply.body) {
        return Err(e.into());
    }
    if !reply.is_json {
        let snippet: String = reply.body.as_str().unwrap_or_default().chars().take(200).collect();
        return Err(Error::NotJson { url: url.to_string(), status: reply.status, snippet });
    }
    if !(200..300).contains(&reply.status) {
        let description = format!("HTTP {} without an error code", reply.status);
        let code = String::new();
        return Err(
            ApiError { method: method.into(), status: reply.status, code, description, body: reply.body }.into()
        );
    }
    let Value::Object(mut body) = reply.body else {
        return Err(Error::Shape { method: method.into(), detail: "the answer is not a JSON object".into() });
    };
    let result =
        body.remove("result").ok_or_else(|| Error::Shape { method: method.into(), detail: "no result".into() })?;
    Ok(Envelope {
        result,
        total: body.get("total").and_then(as_u64),
        next: body.get("next").and_then(as_u64),
        time: body.remove("time"),
    })
}

fn rows_of(method: &str, result: Value) -> Result<Vec<Value>, Error> {
    match result {
        Value::Array(rows) => Ok(rows),
        // Some list methods answer an object keyed by id.
        Value::Object(map) => Ok(map.into_iter().map(|(_, v)| v).collect()),
        other => Err(Error::Shape { method: method.into(), detail: format!("expected a list, got {other}") }),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A base URL: no scheme means https, an explicit http:// or https:// is kept; always a
/// trailing `/`.
fn parse_base(url: &str) -> Result<Url, Error> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::Config("empty URL".into()));
    }
    let lower = url.to_ascii_lowercase();
    let full = if lower.starts_with("http://") || lower.starts_with("https://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let mut u = Url::parse(&full).map_err(|e| Error::Config(format!("URL {url:?}: {e}")))?;
    match u.host_str() {
        Some(h) if !h.is_empty() => {}
        _ => return Err(Error::Config(format!("URL {url:?} has no host"))),
    }
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ClientOptions {
        ClientOptions::default()
    }

    #[test]
    fn url_forms() {
        let w = Bitrix24::webhook("b24-x.bitrix24.by/rest/1/av5code", opts()).unwrap();
        assert_eq!(w.method_url("user.update").as_str(), "https://b24-x.bitrix24.by/rest/1/av5code/user.update");
        let w = Bitrix24::webhook("http://127.0.0.1:9/rest/1/c0de1234/", opts()).unwrap();
        assert_eq!(w.method_url("user.get").as_str(), "http://127.0.0.1:9/rest/1/c0de1234/user.get");
        assert!(Bitrix24::webhook("https://portal.example/", opts()).is_err());
        let t = Bitrix24::oauth("b24-x.bitrix24.by", "tok", opts()).unwrap();
        assert_eq!(t.method_url("user.update").as_str(), "https://b24-x.bitrix24.by/rest/user.update");
        let t = Bitrix24::connect("http://127.0.0.1:9/rest/", Some("tok"), opts()).unwrap();
        assert_eq!(t.method_url("user.get").as_str(), "http://127.0.0.1:9/rest/user.get");
        let mut p = Map::new();
        p.insert("ID".into(), "5".into());
        assert_eq!(t.request_body(&p).to_string(), r#"{"auth":"tok","ID":"5"}"#);
    }
}
