//! The Bitrix24 `.xml` response format: a JSON value rendered as
//! `<?xml ...?><response>...</response>`, object keys as element names,
//! array items and keys that are not XML names as `<item>`. Output is always
//! well-formed XML. It does not build the response envelope or pick the format.

use serde_json::Value;

const PROLOG: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>"#;

/// Renders `value` as a Bitrix24 XML response document.
///
/// Strings are escaped (`& < > " '`), `true` is `1`, `false` and `null` are
/// empty elements (`<x></x>`), numbers are their JSON text. Characters XML 1.0
/// cannot carry (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
#[must_use]
pub fn to_xml(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(PROLOG);
    out.extend_from_slice(b"<response>");
    write_content(&mut out, value);
    out.extend_from_slice(b"</response>");
    out
}

/// Work item of the explicit stack (no recursion, so depth is unbounded).
enum Step<'a> {
    Open(&'a str, &'a Value),
    Close(&'a str),
}

fn write_content(out: &mut Vec<u8>, value: &Value) {
    let mut stack: Vec<Step<'_>> = Vec::new();
    if !push_children(&mut stack, value) {
        write_scalar(out, value);
    }
    while let Some(step) = stack.pop() {
        match step {
            Step::Close(name) => close_tag(out, name),
            Step::Open(name, child) => {
                out.push(b'<');
                out.extend_from_slice(name.as_bytes());
                out.push(b'>');
                stack.push(Step::Close(name));
                if !push_children(&mut stack, child) {
                    write_scalar(out, child);
                }
            }
        }
    }
}

/// Pushes the children of a container in reverse, so they pop in order.
/// Returns false for scalars.
fn push_children<'a>(stack: &mut Vec<Step<'a>>, value: &'a Value) -> bool {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter().rev() {
                let name = if is_xml_name(key) { key.as_str() } else { "item" };
                stack.push(Step::Open(name, child));
            }
            true
        }
        Value::Array(items) => {
            for child in items.iter().rev() {
                stack.push(Step::Open("item", child));
            }
            true
        }
        _ => false,
    }
}

fn close_tag(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

fn write_scalar(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => escape_text(out, s),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(true) => out.push(b'1'),
        Value::Bool(false) | Value::Null | Value::Array(_) | Value::Object(_) => {}
    }
}

fn escape_text(out: &mut Vec<u8>, text: &str) {
    let mut buf = [0u8; 4];
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&apos;"),
            // A raw CR would be normalised to LF by parsers; keep it.
            '\r' => out.extend_from_slice(b"&#13;"),
            '\t' | '\n' => out.push(c as u8),
            c if is_xml_char(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            _ => out.extend_from_slice("\u{FFFD}".as_bytes()),
        }
    }
}

/// XML 1.0 `Char`, minus what `escape_text` handles before.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// XML 1.0 (5th edition) `Name`, without `:` (avoids namespace prefixes).
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if is_name_start(first) => chars.all(is_name_char),
        _ => false,
    }
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn render(v: &Value) -> String {
        String::from_utf8(to_xml(v)).expect("utf-8 output")
    }

    fn doc(body: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><response>{body}</response>")
    }

    /// Minimal well-formedness check for what `to_xml` emits: prolog, balanced
    /// elements with valid names and no attributes, text without raw `<`, and
    /// only known entity or character references.
    fn well_formed(xml: &str) -> Result<(), String> {
        let mut rest = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>").ok_or("missing prolog")?;
        let mut open: Vec<&str> = Vec::new();
        let mut seen_root = false;
        while !rest.is_empty() {
            if let Some(tag_rest) = rest.strip_prefix('<') {
                let end = tag_rest.find('>').ok_or("unterminated tag")?;
                let tag = &tag_rest[..end];
                rest = &tag_rest[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    if open.pop() != Some(name) {
                        return Err(format!("mismatched </{name}>"));
                    }
                } else {
                    if !is_xml_name(tag) {
                        return Err(format!("bad name {tag:?}"));
                    }
                    if open.is_empty() && seen_root {
                        return Err("two roots".into());
                    }
                    seen_root = true;
                    open.push(tag);
                }
            } else {
                if open.is_empty() {
                    return Err("text outside root".into());
                }
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                rest = &rest[end..];
                if text.contains('>') {
                    return Err("raw > in text".into());
                }
                let mut parts = text.split('&');
                let first = parts.next().unwrap_or_default();
                for c in first.chars() {
                    if !(is_xml_char(c) || matches!(c, '\t' | '\n')) {
                        return Err(format!("bad char {c:?}"));
                    }
                }
                for part in parts {
                    let semi = part.find(';').ok_or("bare &")?;
                    let entity = &part[..semi];
                    let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                        || entity
                            .strip_prefix('#')
                            .and_then(|d| d.parse::<u32>().ok())
                            .and_then(char::from_u32)
                            .is_some_and(|c| is_xml_char(c) || matches!(c, '\t' | '\n' | '\r'));
                    if !ok {
                        return Err(format!("bad reference &{entity};"));
                    }
                    for c in part[semi + 1..].chars() {
                        if !(is_xml_char(c) || matches!(c, '\t' | '\n')) {
                            return Err(format!("bad char {c:?}"));
                        }
                    }
                }
            }
        }
        if open.is_empty() && seen_root {
            Ok(())
        } else {
            Err("unclosed elements".into())
        }
    }

    /// Inverse of `escape_text`, for round-trip checks.
    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#13;", "\r")
            .replace("&amp;", "&")
    }

    #[test]
    fn typical_response() {
        let v = json!({
            "result": {"ID": "1", "NAME": "Tom & \"Jerry\" <b>'s", "ACTIVE": true, "EMPTY": false, "NONE": null},
            "total": 1,
            "time": {"start": 1.5}
        });
        assert_eq!(
            render(&v),
            doc(concat!(
                "<result><ID>1</ID><NAME>Tom &amp; &quot;Jerry&quot; &lt;b&gt;&apos;s</NAME>",
                "<ACTIVE>1</ACTIVE><EMPTY></EMPTY><NONE></NONE></result>",
                "<total>1</total><time><start>1.5</start></time>"
            ))
        );
    }

    #[test]
    fn arrays_and_odd_keys_become_items() {
        let v = json!({"result": [{"ID": "1"}, "x", [], {}], "0": "a", "12": "b", "1a": "c",
                       "a b": "d", "ns:x": "e", "": "f", "<x>": "g", "-1": "h"});
        assert_eq!(
            render(&v),
            doc(concat!(
                "<result><item><ID>1</ID></item><item>x</item><item></item><item></item></result>",
                "<item>a</item><item>b</item><item>c</item><item>d</item><item>e</item>",
                "<item>f</item><item>g</item><item>h</item>"
            ))
        );
    }

    #[test]
    fn valid_names_are_kept() {
        let v = json!({"UF_CRM_1": 1, "_x": 2, "a-b.c": 3, "Имя": 4, "xmlThing": 5});
        assert_eq!(
            render(&v),
            doc("<UF_CRM_1>1</UF_CRM_1><_x>2</_x><a-b.c>3</a-b.c><Имя>4</Имя><xmlThing>5</xmlThing>")
        );
    }

    #[test]
    fn top_level_scalars_and_arrays() {
        assert_eq!(render(&json!("a<b")), doc("a&lt;b"));
        assert_eq!(render(&json!(true)), doc("1"));
        assert_eq!(render(&json!(null)), doc(""));
        assert_eq!(render(&json!(-7)), doc("-7"));
        assert_eq!(render(&json!([1, [2]])), doc("<item>1</item><item><item>2</item></item>"));
        assert_eq!(render(&json!({})), doc(""));
    }

    #[test]
    fn unrepresentable_characters() {
        assert_eq!(
            render(&json!({"t": "a\u{0}b\u{1f}c\td\ne\rf\u{FFFE}g\u{7f}"})),
            doc("<t>a\u{FFFD}b\u{FFFD}c\td\ne&#13;f\u{FFFD}g\u{7f}</t>")
        );
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let mut v = json!("x");
        for _ in 0..10_000 {
            v = Value::Array(vec![v]);
        }
        let out = render(&v);
        assert!(out.ends_with("</item></response>"));
        assert_eq!(out.matches("<item>").count(), 10_000);
        // Drop `v` without deep recursion.
        let mut v = v;
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn checker_rejects_broken_xml() {
        assert!(well_formed(&doc("<a></b>")).is_err());
        assert!(well_formed(&doc("a & b")).is_err());
        assert!(well_formed(&doc("<1></1>")).is_err());
        assert!(well_formed(&doc("<a>")).is_err());
        assert!(well_formed(&doc("<a>x</a>")).is_ok());
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[<>&'\"\r\n\u{0}a-z]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((prop_oneof!["[a-z_][a-z0-9]{0,3}", any::<String>()], inner), 0..5)
                    .prop_map(|e| Value::Object(e.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn output_is_well_formed(v in any_json()) {
            let out = render(&v);
            prop_assert!(well_formed(&out).is_ok(), "{:?}: {}", well_formed(&out), out);
        }

        #[test]
        fn xml_safe_text_round_trips(s in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,40}") {
            let out = render(&json!({"v": s}));
            let inner = out
                .strip_prefix(&doc("<v>").replace("</response>", ""))
                .and_then(|r| r.strip_suffix("</v></response>"))
                .ok_or_else(|| TestCaseError::fail(out.clone()))?;
            prop_assert_eq!(unescape(inner), s);
        }
    }
}
