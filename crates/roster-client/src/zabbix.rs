//! The Zabbix JSON-RPC client, as zabbix_utils behaves: the URL gets `api_jsonrpc.php`
//! (and `http://` when it has no scheme); `apiinfo.version` is asked first without auth;
//! the version picks the login key (`user` below 5.4, `username` from it) and where the
//! session or API token goes (body `auth` below 6.4, `Authorization: Bearer` from it).
//! Errors are HTTP 200 with `error{code,message,data}` and become [`ApiError`].

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Url;
use serde_json::{json, Value};

use crate::http::{Http, Reply};
use crate::{ApiError, ClientOptions, Error};

/// How to authenticate.
#[derive(Clone, PartialEq)]
pub enum ZabbixAuth {
    /// Only unauthenticated methods (`apiinfo.version`, `user.login`, ...).
    None,
    /// `user.login`, then the session id on every call; `logout` ends the session.
    Password { username: String, password: String },
    /// An API token, used as is (Zabbix 5.4 and later); no login request is sent.
    Token(String),
}

impl std::fmt::Debug for ZabbixAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZabbixAuth::None => f.write_str("None"),
            ZabbixAuth::Password { username, .. } => {
                write!(f, "Password {{ username: {username:?} }}")
            }
            ZabbixAuth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// A Zabbix version `major.minor.patch`, read leniently (`7.0.0rc1` is 7.0.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().split('.').map(|p| p.chars().take_while(char::is_ascii_digit).collect::<String>());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version(major, minor, patch))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Methods Zabbix refuses when they carry `auth`.
const UNAUTH: [&str; 3] = ["apiinfo.version", "user.login", "user.checkauthentication"];

#[derive(Debug)]
pub struct Zabbix {
    http: Http,
    url: Url,
    version: Version,
    /// Session id or API token.
    secret: Option<String>,
    logged_in: bool,
    next_id: AtomicU64,
}

impl Zabbix {
    /// Connects: asks the version, then logs in (password) or keeps the token.
    pub async fn connect(url: &str, auth: ZabbixAuth, opts: ClientOptions) -> Result<Zabbix, Error> {
        let http = Http::new(&opts, opts.rate.for_zabbix())?;
        let mut z = Zabbix {
            http,
            url: api_url(url)?,
            version: Version(0, 0, 0),
            secret: None,
            logged_in: false,
            next_id: AtomicU64::new(1),
        };
        let v = z.call("apiinfo.version", json!({})).await?;
        let text = v.as_str().unwrap_or_default();
        z.version = Version::parse(text)
            .ok_or_else(|| Error::Shape { method: "apiinfo.version".into(), detail: format!("version {v}") })?;
        match auth {
            ZabbixAuth::None => {}
            ZabbixAuth::Token(token) => {
                if z.version < Version(5, 4, 0) {
                    return Err(Error::Config(format!(
                        "API tokens need Zabbix 5.4 or later; the server is {}",
                        z.version
                    )));
                }
                z.secret = Some(token);
            }
            ZabbixAuth::Password { username, password } => {
                let key = if z.version < Version(5, 4, 0) { "user" } else { "username" };
                let sid = z.call("user.login", json!({ key: username, "password": password })).await?;
                let sid = sid.as_str().ok_or_else(|| Error::Shape {
                    method: "user.login".into(),
                    detail: "the session id is not a string".into(),
                })?;
                z.secret = Some(sid.to_string());
                z.logged_in = true;
            }
        }
        Ok(z)
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The endpoint (`…/api_jsonrpc.php`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// True when the session or token goes in the `Authorization: Bearer` header (6.4+).
    pub fn uses_bearer(&self) -> bool {
        self.version >= Version(6, 4, 0)
    }

    /// The JSON-RPC request for a call, `auth` member included where it belongs.
    pub fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut req = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        if let (Some(s), false, false) = (&self.secret, self.uses_bearer(), is_unauth(method)) {
            req["auth"] = Value::String(s.clone());
        }
        req
    }

    /// Sends one call and returns the HTTP answer as it came (after retries).
    pub async fn send(&self, method: &str, params: Value) -> Result<Reply, Error> {
        self.send_request(&self.request(method, params)).await
    }

    /// Sends a request built by [`Zabbix::request`] (so a caller can show exactly what
    /// goes out), with the Bearer header where the version wants it.
    pub async fn send_request(&self, body: &Value) -> Result<Reply, Error> {
        let method = body.get("method").and_then(Value::as_str).unwrap_or_default();
        let bearer = match (&self.secret, self.uses_bearer() && !is_unauth(method)) {
            (Some(s), true) => Some(s.as_str()),
            _ => None,
        };
        self.http.post_jsonrpc(&self.url, body, bearer).await
    }

    /// Sends one call and returns its `result`; an `error` member becomes [`Error::Api`].
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let reply = self.send(method, params).await?;
        if let Some(e) = ApiError::from_zabbix(method, reply.status, &reply.body) {
            return Err(e.into());
        }
        if !reply.is_json || !(200..300).contains(&reply.status) {
            let snippet: String = reply.body.to_string().chars().take(200).collect();
            return Err(Error::NotJson { url: self.url.to_string(), status: reply.status, snippet });
        }
        let mut body = reply.body;
        body.get_mut("result")
            .map(Value::take)
            .ok_or_else(|| Error::Shape { method: method.into(), detail: "no result".into() })
    }

    /// `user.get` with the given options (e.g. `{"output": "extend", "filter": {...}}`).
    pub async fn user_get(&self, options: Value) -> Result<Vec<Value>, Error> {
        match self.call("user.get", options).await? {
            Value::Array(rows) => Ok(rows),
            other => Err(Error::Shape { method: "user.get".into(), detail: format!("expected a list, got {other}") }),
        }
    }

    /// `user.create`; returns the new user ids.
    pub async fn user_create(&self, user: Value) -> Result<Vec<String>, Error> {
        ids(self.call("user.create", user).await?, "user.create")
    }

    /// `user.update` (`userid` plus the properties to change); returns the ids.
    pub async fn user_update(&self, user: Value) -> Result<Vec<String>, Error> {
        ids(self.call("user.update", user).await?, "user.update")
    }

    /// `user.delete` of the given ids (sent as a JSON array, as both Python clients do).
    pub async fn user_delete(&self, userids: &[&str]) -> Result<Vec<String>, Error> {
        ids(self.call("user.delete", json!(userids)).await?, "user.delete")
    }

    /// Ends a password session (`user.logout`); a token client has nothing to end.
    pub async fn logout(mut self) -> Result<(), Error> {
        if self.logged_in {
            self.call("user.logout", json!({})).await?;
            self.logged_in = false;
        }
        Ok(())
    }
}

fn is_unauth(method: &str) -> bool {
    UNAUTH.contains(&method.to_ascii_lowercase().as_str())
}

fn ids(result: Value, method: &str) -> Result<Vec<String>, Error> {
    let list = result
        .get("userids")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Shape { method: method.into(), detail: "no userids".into() })?;
    Ok(list.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect())
}

/// `host` → `http://host/api_jsonrpc.php`; `…/zabbix` → `…/zabbix/api_jsonrpc.php`.
fn api_url(url: &str) -> Result<Url, Error> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let full = if lower.starts_with("http://") || lower.starts_with("https://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let mut u = Url::parse(&full).map_err(|e| Error::Config(format!("URL {url:?}: {e}")))?;
    if !u.path().ends_with("api_jsonrpc.php") {
        let path = format!("{}/api_jsonrpc.php", u.path().trim_end_matches('/'));
        u.set_path(&path);
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_versions() {
        assert_eq!(api_url("127.0.0.1:8080").unwrap().as_str(), "http://127.0.0.1:8080/api_jsonrpc.php");
        assert_eq!(api_url("https://h/zabbix/").unwrap().as_str(), "https://h/zabbix/api_jsonrpc.php");
        assert_eq!(api_url("http://h/api_jsonrpc.php").unwrap().as_str(), "http://h/api_jsonrpc.php");
        assert_eq!(Version::parse("7.0.0rc1"), Some(Version(7, 0, 0)));
        assert!(Version::parse("6.4.0").unwrap() >= Version(6, 4, 0));
        assert_eq!(Version::parse("x"), None);
    }
}
