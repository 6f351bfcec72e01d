//! Every configurable limit of `roster serve` has a test (issue 9, point 3): body size
//! (--max-body, both faces), upload size (--max-file-size), real images within
//! --max-image-pixels, parameter depth (--max-depth), batch length (--max-batch), request
//! time with a slowly sent body (--request-timeout), open connections (--max-connections)
//! and slowloris headers (--header-timeout) while normal clients are still served.

mod common;

use std::time::{Duration, Instant};

use common::{b64, Server, FORM_TYPE, TINY_PNG};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A PNG whose header claims `width` x `height` pixels (IHDR patched; no pixel data
/// follows, which is all the header check reads), padded with `extra` zero bytes.
fn png_claiming(width: u32, height: u32, extra: usize) -> Vec<u8> {
    let mut png = TINY_PNG.to_vec();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    png.extend(std::iter::repeat_n(0u8, extra));
    png
}

/// `user.update` of `user` setting `field` to the upload `[name, data]`.
async fn upload(s: &Server, user: i64, field: &str, name: &str, data: &[u8]) -> common::Reply {
    s.call("user.update", json!({"ID": user, field: [name, b64(data)]})).await
}

/// Asserts an `ERROR_ARGUMENT` for `field` whose description contains `words`.
fn refused(r: &common::Reply, field: &str, words: &str) {
    r.err(400, "ERROR_ARGUMENT", None);
    assert_eq!(r.json["argument"], field, "{}", r.text());
    let text = r.json["error_description"].as_str().unwrap_or_default();
    assert!(text.contains(words), "expected {words:?} in {}", r.text());
}

#[tokio::test]
async fn max_body_applies_to_both_faces() {
    let s = common::start_with(|c| c.max_body = 4096).await;
    let fits = json!({"ID": 1, "NAME": "x".repeat(3000)});
    let r = s.call("user.get", fits).await;
    r.ok();
    let over = json!({"ID": 1, "NAME": "x".repeat(4100)});
    let r = s.call("user.get", over).await;
    r.err(413, "ERROR_ARGUMENT", Some("Request body is larger than the limit of 4096 bytes"));
    // Zabbix: an oversized body reads as no JSON at all, as PHP would see it.
    let call = |pad: usize| json!({"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": "x".repeat(pad)});
    let r = s.zabbix_raw(call(3000).to_string()).await;
    assert_eq!(r.json["result"], "7.0.0", "{}", r.text());
    let r = s.zabbix_raw(call(4100).to_string()).await;
    assert_eq!((r.status, &r.json["error"]["code"]), (200, &json!(-32700)), "{}", r.text());
}

#[tokio::test]
async fn max_file_size_refuses_larger_photos_and_files() {
    let s = common::start_with(|c| c.max_file_size = 1000).await;
    let id = s.add_user("files@example.com", json!({})).await;
    assert_eq!(upload(&s, id, "PERSONAL_PHOTO", "ok.png", &png_claiming(1, 1, 900)).await.ok(), &json!(true));
    let r = upload(&s, id, "PERSONAL_PHOTO", "big.png", &png_claiming(1, 1, 1000)).await;
    refused(&r, "PERSONAL_PHOTO", "larger than the limit of 1000 bytes");
    let r = upload(&s, id, "WORK_LOGO", "big.png", &png_claiming(1, 1, 1000)).await;
    refused(&r, "WORK_LOGO", "larger than the limit");
    // A file-type custom field obeys the same limit.
    s.call("user.userfield.add", json!({"fields": {"FIELD_NAME": "DOC", "USER_TYPE_ID": "file"}})).await.ok();
    let small = json!({"ID": id, "UF_USR_DOC": {"fileData": ["a.txt", b64(&[b'a'; 900])]}});
    s.call("user.update", small).await.ok();
    let big = json!({"ID": id, "UF_USR_DOC": {"fileData": ["a.txt", b64(&[b'a'; 1001])]}});
    let r = s.call("user.update", big).await;
    assert!(r.status == 400 && r.json["error"].is_string(), "{}", r.text());
    assert!(r.text().contains("1000"), "{}", r.text());
}

#[tokio::test]
async fn uploads_must_be_real_images_within_max_image_pixels() {
    let s = common::start_with(|c| c.max_image_pixels = 1_000_000).await;
    let id = s.add_user("pixels@example.com", json!({})).await;
    let r = upload(&s, id, "PERSONAL_PHOTO", "x.png", b"just some text, not a picture").await;
    refused(&r, "PERSONAL_PHOTO", "not an image of an allowed type");
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;
    refused(&upload(&s, id, "PERSONAL_PHOTO", "x.svg", svg).await, "PERSONAL_PHOTO", "not an image");
    // A PNG header claiming 100000 x 100000 is refused before anything is decoded.
    let r = upload(&s, id, "PERSONAL_PHOTO", "bomb.png", &png_claiming(100_000, 100_000, 0)).await;
    refused(&r, "PERSONAL_PHOTO", "100000x100000, more than 1000000 pixels");
    refused(&upload(&s, id, "WORK_LOGO", "bomb.png", &png_claiming(100_000, 100_000, 0)).await, "WORK_LOGO", "pixels");
    refused(&upload(&s, id, "PERSONAL_PHOTO", "zero.png", &png_claiming(0, 5, 0)).await, "PERSONAL_PHOTO", "no pixels");
    refused(
        &upload(&s, id, "PERSONAL_PHOTO", "cut.jpg", &[0xff, 0xd8, 0xff, 0xe0, 0, 16]).await,
        "PERSONAL_PHOTO",
        "damaged",
    );
    // Exactly at the limit is fine; so is the whole size through user.add.
    assert_eq!(upload(&s, id, "PERSONAL_PHOTO", "ok.png", &png_claiming(1000, 1000, 0)).await.ok(), &json!(true));
    let r = s.call("user.add", json!({"EMAIL": "bomb@example.com", "UF_DEPARTMENT": 1, "PERSONAL_PHOTO": ["b.png", b64(&png_claiming(1001, 1000, 0))]})).await;
    refused(&r, "PERSONAL_PHOTO", "pixels");
}

#[tokio::test]
async fn max_depth_limits_nested_parameters_in_forms_queries_and_batch() {
    let s = common::start_with(|c| c.max_depth = 4).await;
    let url = format!("{}user.get", s.hook);
    let key = |depth: usize| format!("FILTER{}", "[x]".repeat(depth));
    s.post_form(&url, &format!("{}=1", key(4))).await.ok();
    let deep = s.post_form(&url, &format!("{}=1", key(5))).await;
    deep.err(400, "ERROR_ARGUMENT", Some("Invalid request parameters: request parameter nesting level exceeded"));
    s.get(&format!("{url}?{}=1", key(4))).await.ok();
    s.get(&format!("{url}?{}=1", key(5))).await.err(400, "ERROR_ARGUMENT", None);
    let batch = s
        .call(
            "batch",
            json!({"cmd": {"ok": format!("user.get?{}=1", key(4)), "deep": format!("user.get?{}=1", key(5))}}),
        )
        .await;
    let res = batch.ok();
    assert!(res["result"]["ok"].is_array(), "{}", batch.text());
    assert_eq!(res["result_error"]["deep"]["error"], "ERROR_ARGUMENT", "{}", batch.text());
    // The default (32) and the decoder's own ceiling also hold for a huge configured value.
    let wide = common::start_with(|c| c.max_depth = 1_000_000).await;
    let r = wide.post_form(&format!("{}user.get", wide.hook), &format!("{}=1", key(600))).await;
    r.err(400, "ERROR_ARGUMENT", None);
}

#[tokio::test]
async fn max_batch_refuses_the_commands_past_the_limit() {
    let s = common::start_with(|c| c.max_batch = 3).await;
    let r = s.call("batch", json!({"cmd": ["server.time", "user.admin", "scope", "profile", "user.current"]})).await;
    let res = r.ok();
    assert_eq!(res["result"].as_array().map(Vec::len), Some(3), "{}", r.text());
    let errors = res["result_error"].as_object().cloned().unwrap_or_default();
    assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["3", "4"], "{}", r.text());
    for e in errors.values() {
        assert_eq!(
            e,
            &json!({"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"})
        );
    }
}

/// Writes `head` at once, then `slow` one byte every `gap` while reading the answer;
/// returns the answer's status, body and how long it took to come (the connection is
/// read until the server closes it, 10 s at most).
async fn trickle(base: &str, head: &[u8], slow: &[u8], gap: Duration) -> (Option<u16>, Vec<u8>, Duration) {
    let started = Instant::now();
    let conn = TcpStream::connect(common::addr_of(base)).await.expect("connect");
    let (mut rd, mut wr) = conn.into_split();
    let head = head.to_vec();
    let slow = slow.to_vec();
    let writer = tokio::spawn(async move {
        if wr.write_all(&head).await.is_err() {
            return;
        }
        for b in slow {
            tokio::time::sleep(gap).await;
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // Read until the answer is complete or the server closes the connection.
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        if complete(&answer) {
            break;
        }
    }
    let took = started.elapsed();
    writer.abort();
    let (status, body) = common::parse_raw_answer(&answer);
    (status, body, took)
}

/// Whether a raw answer holds its whole `Content-Length` body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer).to_ascii_lowercase();
    let Some(end) = text.find("\r\n\r\n") else { return false };
    let length = text[..end]
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    length.is_some_and(|n| answer.len() >= end + 4 + n)
}

#[tokio::test]
async fn request_timeout_cuts_a_body_sent_very_slowly() {
    let s = common::start_with(|c| c.request_timeout = 1).await;
    let head = format!(
        "POST /rest/1/{}/user.get HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM_TYPE}\r\nContent-Length: 100\r\n\r\n",
        common::BOOT_CODE
    );
    let (status, body, took) = trickle(&s.base, head.as_bytes(), &[b'a'; 100], Duration::from_millis(200)).await;
    assert_eq!(status, Some(503), "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(json["error"], "REQUEST_TIMEOUT", "{json}");
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
    // A quick call on the same server is unaffected.
    s.call("server.time", json!({})).await.ok();
}

/// Opens a TCP connection that sends nothing yet.
async fn idle(s: &Server) -> TcpStream {
    TcpStream::connect(common::addr_of(&s.base)).await.expect("connect")
}

/// Sends one request on `conn` and returns the status of the answer (None when the
/// server closed the connection instead).
async fn request_on(conn: &mut TcpStream) -> Option<u16> {
    let req = format!("GET /rest/1/{}/server.time HTTP/1.1\r\nHost: x\r\n\r\n", common::BOOT_CODE);
    conn.write_all(req.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&answer) {
        match tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    common::parse_raw_answer(&answer).0
}

/// Whether the server closes `conn` (EOF or reset) within `within`.
async fn closed_by_server(conn: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(within, conn.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn max_connections_closes_the_extra_one_and_frees_a_slot_on_close() {
    let s = common::start_limited(|c| {
        c.max_connections = 3;
        c.header_timeout = 30;
    })
    .await;
    let mut open = vec![idle(&s).await, idle(&s).await, idle(&s).await];
    // Let the server accept the three before the fourth knocks.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = idle(&s).await;
    assert!(closed_by_server(&mut extra, Duration::from_secs(3)).await, "connection 4 of 3 was kept open");
    // The three are served.
    assert_eq!(request_on(&mut open[0]).await, Some(200));
    // Closing one frees its slot: a new connection is served (once the server noticed).
    drop(open.remove(2));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut fresh = idle(&s).await;
        if request_on(&mut fresh).await == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came free after closing a connection");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(request_on(&mut open[1]).await, Some(200));
}

#[tokio::test]
async fn slowloris_headers_are_cut_off_while_normal_clients_are_served() {
    let s = common::start_limited(|c| c.header_timeout = 1).await;
    let head = format!(
        "GET /rest/1/{}/server.time HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
        common::BOOT_CODE,
        "z".repeat(40)
    );
    // 80-odd bytes at 5 per second would take 16 s; the header deadline is 1 s.
    let slow = tokio::spawn({
        let base = s.base.clone();
        async move { trickle(&base, b"", head.as_bytes(), Duration::from_millis(200)).await }
    });
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let t = Instant::now();
        s.call("server.time", json!({})).await.ok();
        assert!(t.elapsed() < Duration::from_millis(500), "a normal call took {:?}", t.elapsed());
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, took) = slow.await.expect("slow client");
    assert!(status.is_none_or(|c| c == 408), "the slow client got HTTP {status:?}");
    assert!(took < Duration::from_secs(4), "the slow client was kept for {took:?}");
    assert!(served >= 5, "only {served} normal calls were served meanwhile");
}
