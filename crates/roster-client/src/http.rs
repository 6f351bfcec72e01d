//! The shared transport: one reqwest client built from [`ClientOptions`] (timeout, proxy,
//! TLS, gzip), a POST with a JSON body, and the retry loop. It returns every HTTP answer as
//! a [`Reply`] (errors included, once attempts are spent); only transport failures and
//! timeouts become `Err`. Reading protocol errors out of a reply is the clients' job.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use serde_json::Value;

use crate::options::ClientOptions;
use crate::throttle::LeakyBucket;
use crate::Error;

/// One HTTP answer: status, headers (in arrival order) and the body, parsed as JSON when
/// it is JSON (else the raw text as a JSON string, with `is_json` false).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub is_json: bool,
    /// How many attempts this answer took (1 = first try).
    pub attempts: u32,
}

impl Reply {
    /// `{"code": status, "body": body, "headers": {name: value}}`: oint's `adv_response`.
    pub fn advanced(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in &self.headers {
            headers.insert(k.clone(), Value::String(v.clone()));
        }
        serde_json::json!({"code": self.status, "body": self.body, "headers": headers})
    }

    /// The value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn retryable(&self) -> bool {
        let code = self.body.get("error").and_then(Value::as_str).unwrap_or_default();
        self.status >= 500 || self.status == 429 || matches!(code, "QUERY_LIMIT_EXCEEDED" | "OPERATION_TIME_LIMIT")
    }
}

#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    opts: ClientOptions,
    bucket: Option<LeakyBucket>,
}

impl Http {
    /// Builds the client; `rate` is the already resolved `(burst, per_second)` limit.
    pub(crate) fn new(opts: &ClientOptions, rate: Option<(f64, f64)>) -> Result<Http, Error> {
        let mut b = reqwest::Client::builder()
            .timeout(opts.timeout)
            .user_agent(opts.user_agent.clone())
            .gzip(true)
            .use_rustls_tls()
            .danger_accept_invalid_certs(opts.tls.accept_invalid_certs);
        for pem in &opts.tls.ca_certs_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(Error::Config("CA certificate file holds no PEM certificate".into()));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        b = match &opts.proxy {
            Some(p) => {
                let mut proxy =
                    reqwest::Proxy::all(&p.url).map_err(|e| Error::Config(format!("proxy {}: {e}", p.url)))?;
                if let Some(user) = &p.username {
                    proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or_default());
                }
                b.proxy(proxy)
            }
            // Only an explicit --proxy is used: environment variables are the caller's business.
            None => b.no_proxy(),
        };
        let client = b.build().map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let bucket = rate.map(|(burst, per_second)| LeakyBucket::new(burst, per_second));
        Ok(Http { client, opts: opts.clone(), bucket })
    }

    /// POSTs a Bitrix24 JSON body, retrying as the options say.
    pub(crate) async fn post_json(&self, url: &Url, body: &Value) -> Result<Reply, Error> {
        self.post(url, "application/json", body, None).await
    }

    /// POSTs a JSON-RPC body (`application/json-rpc`, as zabbix_utils), with an optional
    /// `Authorization: Bearer` value.
    pub(crate) async fn post_jsonrpc(&self, url: &Url, body: &Value, bearer: Option<&str>) -> Result<Reply, Error> {
        self.post(url, "application/json-rpc", body, bearer).await
    }

    async fn post(&self, url: &Url, content_type: &str, body: &Value, bearer: Option<&str>) -> Result<Reply, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Config(format!("request body: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).map_err(|e| Error::Config(e.to_string()))?);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json, */*"));
        headers.insert("accept-charset", HeaderValue::from_static("utf-8"));
        if let Some(b) = bearer {
            let v = HeaderValue::from_str(&format!("Bearer {b}"))
                .map_err(|_| Error::Config("token has invalid characters".into()))?;
            headers.insert(AUTHORIZATION, v);
        }
        let attempts = self.opts.attempts.max(1);
        let shown = mask_url(url);
        let mut attempt = 1;
        loop {
            if let Some(bucket) = &self.bucket {
                bucket.acquire().await;
            }
            let sent = self.client.post(url.clone()).headers(headers.clone()).body(bytes.clone()).send().await;
            let outcome = match sent {
                Ok(resp) => read(resp, attempt).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(reply) if reply.retryable() && attempt < attempts => {
                    let wait = retry_after(&reply).unwrap_or_else(|| self.opts.backoff.delay(attempt));
                    let wait = wait.min(self.opts.backoff.max);
                    tracing::info!(url = %shown, status = reply.status, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Ok(reply) => return Ok(reply),
                Err(e) if attempt < attempts => {
                    let wait = self.opts.backoff.delay(attempt);
                    tracing::info!(url = %shown, error = %e, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) if e.is_timeout() => {
                    return Err(Error::Timeout { url: shown, after: self.opts.timeout, attempts });
                }
                Err(source) => return Err(Error::Transport { url: shown, attempts, source }),
            }
            attempt += 1;
        }
    }
}

async fn read(resp: reqwest::Response, attempts: u32) -> Result<Reply, reqwest::Error> {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let text = resp.text().await?;
    let (body, is_json) = match serde_json::from_str::<Value>(&text) {
        Ok(v) => (v, true),
        Err(_) => (Value::String(text), false),
    };
    Ok(Reply { status, headers, body, is_json, attempts })
}

fn retry_after(reply: &Reply) -> Option<Duration> {
    let secs: f64 = reply.header("retry-after")?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The URL with a webhook secret (`/rest/{user}/{secret}/`) replaced by `***`, for messages.
pub(crate) fn mask_url(url: &Url) -> String {
    let mut parts: Vec<String> = url.path().split('/').map(str::to_string).collect();
    if let Some(i) = parts.iter().position(|p| p == "rest") {
        let is_hook = parts.get(i + 1).is_some_and(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_digit()));
        if is_hook && parts.len() > i + 2 {
            parts[i + 2] = "***".into();
        }
    }
    let mut shown = url.clone();
    shown.set_path(&parts.join("/"));
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_webhook_secret() {
        let u = Url::parse("http://127.0.0.1:8080/rest/1/abcdef123/user.get").unwrap();
        assert_eq!(mask_url(&u), "http://127.0.0.1:8080/rest/1/***/user.get");
        let u = Url::parse("https://portal.example/rest/user.get").unwrap();
        assert_eq!(mask_url(&u), "https://portal.example/rest/user.get");
    }
}
