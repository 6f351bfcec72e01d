//! Test doubles over real sockets, for this crate's tests and the CLI's (feature
//! `test-support`): a scripted HTTP/1.1 server that records every request and can answer
//! late or never, and a forward/CONNECT HTTP proxy that counts connections and records
//! `Proxy-Authorization`. Loopback only; both stop when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The request target (`/rest/1/CODE/user.get`, or absolute-form through a proxy).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the scripted server does with a request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Status, extra headers, body (sent as `application/json` unless a header says otherwise).
    Send(u16, Vec<(String, String)>, String),
    /// Wait, then answer.
    Late(Duration, Box<Answer>),
    /// Keep the connection open and never answer.
    Never,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer::Send(status, Vec::new(), body.to_string())
    }
}

/// Request lines and `Proxy-Authorization` values a proxy saw.
pub type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

type Script = dyn Fn(usize, &Recorded) -> Answer + Send + Sync;

/// A scripted HTTP server; `script(n, request)` decides the answer to the n-th request (0-based).
pub struct FakeServer {
    pub addr: std::net::SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(script: impl Fn(usize, &Recorded) -> Answer + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake server");
        let addr = listener.local_addr().expect("fake server address");
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (reqs, conns) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                let (reqs, script) = (reqs.clone(), script.clone());
                tokio::spawn(async move {
                    while let Some(req) = read_request(&mut sock).await {
                        let n = {
                            let mut all = reqs.lock().unwrap();
                            all.push(req.clone());
                            all.len() - 1
                        };
                        if !answer(&mut sock, script(n, &req)).await {
                            return;
                        }
                    }
                });
            }
        });
        FakeServer { addr, requests, connections, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(sock: &mut TcpStream, a: Answer) -> bool {
    match a {
        Answer::Never => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            false
        }
        Answer::Late(d, inner) => {
            tokio::time::sleep(d).await;
            Box::pin(answer(sock, *inner)).await
        }
        Answer::Send(status, headers, body) => {
            let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                head.push_str("content-type: application/json\r\n");
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            sock.write_all(head.as_bytes()).await.is_ok() && sock.write_all(body.as_bytes()).await.is_ok()
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` at end of stream.
pub async fn read_request<S: AsyncRead + Unpin>(sock: &mut S) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).await.ok()?;
    Some(Recorded { method, target, headers, body })
}

/// A forward (absolute-form) and CONNECT HTTP proxy. With `require` set, a request whose
/// `Proxy-Authorization` differs gets 407.
pub struct TestProxy {
    pub addr: std::net::SocketAddr,
    pub connections: Arc<AtomicUsize>,
    /// Per request: the request line and the `Proxy-Authorization` header, if any.
    pub seen: Seen,
    task: JoinHandle<()>,
}

impl TestProxy {
    pub async fn start(require: Option<String>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let connections = Arc::new(AtomicUsize::new(0));
        let seen: Seen = Arc::default();
        let (conns, log) = (connections.clone(), seen.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_proxy(client, log.clone(), require.clone()));
            }
        });
        TestProxy { addr, connections, seen, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_proxy(mut client: TcpStream, log: Seen, require: Option<String>) {
    let Some(req) = read_request(&mut client).await else {
        return;
    };
    let auth = req.header("proxy-authorization").map(str::to_string);
    log.lock().unwrap().push((format!("{} {}", req.method, req.target), auth.clone()));
    if require.is_some() && auth != require {
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"t\"\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    if req.method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(&req.target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }
    // Absolute-form: http://host:port/path
    let rest = req.target.strip_prefix("http://").unwrap_or(&req.target);
    let (hostport, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut upstream) = TcpStream::connect(hostport).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
        return;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, if path.is_empty() { "/" } else { path });
    for (k, v) in &req.headers {
        if !k.to_ascii_lowercase().starts_with("proxy-") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).await.is_err() || upstream.write_all(&req.body).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer).await;
    let _ = client.write_all(&answer).await;
}
