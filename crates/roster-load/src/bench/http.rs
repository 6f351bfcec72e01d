//! A few one-off HTTP/1.1 calls the bench makes itself (not measured load): the
//! readiness probe, the Zabbix face probe and `user.login`. Blocking std sockets,
//! `Connection: close`, Content-Length or chunked bodies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Status and body of one response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one POST and reads the whole response.
pub fn post(addr: SocketAddr, path: &str, ctype: &str, body: &str, bearer: Option<&str>) -> Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\n{auth}\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: roster-bench\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").context("no end of headers in the response")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut rest = &raw[split + 4..];
    let status: u16 =
        head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status in the response")?;
    let lower = head.to_ascii_lowercase();
    let chunked = lower.contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)?
    } else {
        if let Some(len) =
            lower.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok())
        {
            rest = &rest[..len.min(rest.len())];
        }
        rest.to_vec()
    };
    Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").context("bad chunk header")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).context("bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

/// Why a readiness probe failed.
#[derive(Debug)]
pub enum NotReady {
    /// The server answered, with an error.
    Answered(String),
    /// No answer (connection refused, reset, timeout).
    Silent(String),
}

/// Whether an authenticated Bitrix24 call (`user.current`) succeeds.
pub fn bitrix_ready(addr: SocketAddr, code: &str) -> Result<(), NotReady> {
    let path = format!("/rest/1/{code}/user.current");
    match post(addr, &path, "application/json", "{}", None) {
        Ok(r) if r.status == 200 && r.json().get("result").is_some() => Ok(()),
        Ok(r) => {
            let text: String = r.body.chars().take(200).collect();
            let why = format!("user.current answered HTTP {}: {}", r.status, text.trim());
            Err(NotReady::Answered(why))
        }
        Err(e) => Err(NotReady::Silent(format!("user.current: {e}"))),
    }
}

/// What the Zabbix face offers for the load phases.
#[derive(Debug)]
pub enum ZabbixFace {
    /// Not served; the reason for the skip note.
    Absent(String),
    /// A session id of the administrator, usable as a Bearer token.
    Session(String),
}

fn rpc(addr: SocketAddr, method: &str, params: Value, bearer: Option<&str>) -> Result<Reply> {
    let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).to_string();
    post(addr, "/api_jsonrpc.php", "application/json-rpc", &body, bearer)
}

/// Probes `POST /api_jsonrpc.php` and logs the administrator in; then checks that
/// one `user.update` of `userid` with the session as Bearer token succeeds.
pub fn zabbix_login(addr: SocketAddr, password: &str, userid: u64) -> Result<ZabbixFace> {
    let probe = rpc(addr, "apiinfo.version", json!({}), None)?;
    let version = probe.json().get("result").and_then(Value::as_str).map(String::from);
    let Some(version) = version else {
        let text: String = probe.body.chars().take(120).collect();
        let why = format!("POST /api_jsonrpc.php answers HTTP {}: {}", probe.status, text.trim());
        return Ok(ZabbixFace::Absent(why));
    };
    let login = rpc(addr, "user.login", json!({"username": "Admin", "password": password}), None)?;
    let Some(session) = login.json().get("result").and_then(Value::as_str).map(String::from) else {
        bail!("Zabbix {version}: user.login failed: {}", login.body);
    };
    let params = json!({"userid": userid.to_string(), "name": "probe"});
    let check = rpc(addr, "user.update", params, Some(&session))?;
    if check.json().get("result").is_none() {
        bail!("Zabbix {version}: user.update with the session as Bearer failed: {}", check.body);
    }
    Ok(ZabbixFace::Session(session))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(response: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            s.write_all(response.as_bytes()).unwrap();
            // Read whatever of the request is still coming before closing: closing with
            // unread data would reset the connection under the client's feet.
            let _ = s.shutdown(std::net::Shutdown::Write);
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        });
        addr
    }

    #[test]
    fn reads_length_and_chunked_bodies() {
        let addr = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"result\":1}\n");
        let r = post(addr, "/x", "application/json", "{}", None).unwrap();
        assert_eq!((r.status, r.json()["result"].as_i64()), (200, Some(1)));
        let chunked = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n\
                       4\r\nnot \r\n5;x=1\r\nfound\r\n0\r\n\r\n";
        let r = post(serve_once(chunked), "/x", "text/plain", "", Some("t")).unwrap();
        assert_eq!((r.status, r.body.as_str()), (404, "not found"));
    }

    #[test]
    fn absent_face_is_a_skip() {
        let addr = serve_once("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        match zabbix_login(addr, "pw", 3).unwrap() {
            ZabbixFace::Absent(why) => assert!(why.contains("HTTP 404"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
