//! The request side of the wire (spec 1.1-1.2): which URL form was used, the method name
//! and output format, and the parameters merged from the query string and the body
//! (JSON, form, multipart or raw), with PHP-style nested keys.

use axum::http::{header, HeaderMap};
use base64::Engine;
use serde_json::{Map, Value as Json};

use crate::envelope::Format;
use crate::error::BxError;
use crate::params::{self, Limits};

/// What the path says.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Lower-cased method name without the format suffix.
    pub method: String,
    pub format: Format,
    /// `{user_id}/{code}` of the webhook form.
    pub webhook: Option<(String, String)>,
}

/// Parses the part after `/rest/`.
pub fn route(tail: &str) -> Route {
    let segments: Vec<String> = tail
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let (webhook, raw) = match segments.as_slice() {
        [user, code, method] => (Some((user.clone(), code.clone())), method.clone()),
        [method] => (None, method.clone()),
        // Any other shape (e.g. the user id left out) is taken as one odd method name.
        other => (None, other.join("/")),
    };
    let mut method = raw.to_lowercase();
    let mut format = Format::Json;
    if let Some(stem) = method.strip_suffix(".json") {
        method = stem.to_owned();
    } else if let Some(stem) = method.strip_suffix(".xml") {
        method = stem.to_owned();
        format = Format::Xml;
    }
    Route { method, format, webhook }
}

/// Merges query parameters and the body (the body wins per top-level key).
pub async fn collect(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    limits: &Limits,
) -> Result<Map<String, Json>, BxError> {
    let mut merged = Map::new();
    if let Some(q) = query {
        params::decode_form(q.as_bytes(), &mut merged, limits).map_err(bad_params)?;
    }
    if body.is_empty() {
        return Ok(merged);
    }
    // The boundary of a multipart type is case-sensitive: keep the original for it.
    let raw_ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ctype = raw_ctype.to_ascii_lowercase();
    let from_body = if ctype.starts_with("application/json") || ctype.ends_with("+json") {
        let map = params::json_body(body).map_err(bad_params)?;
        let depth = map.values().map(json_depth).max().unwrap_or(0) + 1;
        if depth > limits.max_depth {
            return Err(BxError::argument(
                format!("Invalid request parameters: nested deeper than {} levels", limits.max_depth),
                "",
            ));
        }
        map
    } else if ctype.starts_with("multipart/form-data") {
        multipart(raw_ctype, body, limits).await?
    } else {
        let mut m = Map::new();
        params::decode_form(body, &mut m, limits).map_err(bad_params)?;
        m
    };
    params::merge_over(&mut merged, from_body);
    Ok(merged)
}

/// Nesting depth of a JSON value (serde_json already caps it at 128, so recursion is bounded).
fn json_depth(v: &Json) -> usize {
    match v {
        Json::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Json::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn bad_params(e: params::ParamError) -> BxError {
    BxError::argument(format!("Invalid request parameters: {e}"), "")
}

/// Multipart fields become parameters (PHP-style names); a file part becomes the
/// `[filename, base64]` pair that the file fields take.
async fn multipart(ctype: &str, body: &[u8], limits: &Limits) -> Result<Map<String, Json>, BxError> {
    let boundary =
        multer::parse_boundary(ctype).map_err(|e| BxError::argument(format!("Bad multipart body: {e}"), ""))?;
    let data = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(data) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut pairs = String::new();
    let mut files: Vec<(String, Json)> = Vec::new();
    while let Some(field) =
        mp.next_field().await.map_err(|e| BxError::argument(format!("Bad multipart body: {e}"), ""))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content = field.bytes().await.map_err(|e| BxError::argument(format!("Bad multipart body: {e}"), ""))?;
        match file_name {
            Some(fname) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&content);
                files.push((name, Json::Array(vec![Json::String(fname), Json::String(b64)])));
            }
            None => {
                let text = std::str::from_utf8(&content)
                    .map_err(|_| BxError::argument("Invalid request parameters: not valid UTF-8", ""))?;
                if !pairs.is_empty() {
                    pairs.push('&');
                }
                pairs.extend(form_urlencoded::byte_serialize(name.as_bytes()));
                pairs.push('=');
                pairs.extend(form_urlencoded::byte_serialize(text.as_bytes()));
            }
        }
    }
    let mut out = Map::new();
    params::decode_form(pairs.as_bytes(), &mut out, limits).map_err(bad_params)?;
    for (name, value) in files {
        out.insert(name, value);
    }
    Ok(out)
}

/// Parameters the server consumes or ignores before a method sees the rest.
pub const RESERVED: &[&str] = &[
    "auth",
    "access_token",
    "aplogin",
    "ap",
    "state",
    "token",
    "auth_connector",
    "bx24_request_id",
    "bx24_sdk_ver",
    "bx24_sdk_type",
    "__order",
    "start",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let r = route("1/abc/User.Get.json/");
        assert_eq!((r.method.as_str(), r.format, r.webhook.is_some()), ("user.get", Format::Json, true));
        let r = route("user.get.xml");
        assert_eq!((r.method.as_str(), r.format, r.webhook), ("user.get", Format::Xml, None));
        assert_eq!(route("abc/user.get").method, "abc/user.get");
        assert_eq!(route("user.get.php").method, "user.get.php");
    }
}
