//! JSON output byte-compatible with PHP's `json_encode` under the flags
//! that Bitrix24 uses: `JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS |
//! JSON_HEX_QUOT | JSON_UNESCAPED_UNICODE`, slashes escaped as `\/`.
//! Implemented as a `serde_json` formatter; numbers use `serde_json`'s
//! formatting. It does not build response envelopes or choose the format.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use serde_json::Value;

/// Serialises `value` the way PHP's `json_encode` does with Bitrix's flags.
#[must_use]
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = Serializer::with_formatter(&mut out, PhpFormatter);
    if value.serialize(&mut ser).is_err() {
        // Writing a `Value` into a `Vec` cannot fail; stay total anyway.
        out.clear();
        out.extend_from_slice(b"null");
    }
    out
}

/// Compact formatter with PHP's string escaping.
struct PhpFormatter;

impl Formatter for PhpFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'<' => b"\\u003C",
                b'>' => b"\\u003E",
                b'&' => b"\\u0026",
                b'\'' => b"\\u0027",
                b'/' => b"\\/",
                // U+2028 / U+2029 (E2 80 A8 / E2 80 A9): PHP escapes them unless
                // JSON_UNESCAPED_LINE_TERMINATORS is given.
                0xE2 if bytes.get(i + 1) == Some(&0x80) => match bytes.get(i + 2) {
                    Some(0xA8) => b"\\u2028",
                    Some(0xA9) => b"\\u2029",
                    _ => continue,
                },
                _ => continue,
            };
            if i > start {
                writer.write_all(bytes.get(start..i).unwrap_or_default())?;
            }
            writer.write_all(escape)?;
            start = i + if b == 0xE2 { 3 } else { 1 };
        }
        if start < bytes.len() {
            writer.write_all(bytes.get(start..).unwrap_or_default())?;
        }
        Ok(())
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let escape: &[u8] = match char_escape {
            CharEscape::Quote => b"\\u0022",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let buf = [b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0F)]];
                return writer.write_all(&buf);
            }
        };
        writer.write_all(escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn enc(v: &Value) -> String {
        String::from_utf8(to_vec(v)).expect("utf-8 output")
    }

    #[test]
    fn brief_example() {
        assert_eq!(enc(&json!({"a":"The 'X' <b>&/"})), r#"{"a":"The \u0027X\u0027 \u003Cb\u003E\u0026\/"}"#);
    }

    #[test]
    fn quotes_backslashes_and_controls() {
        assert_eq!(enc(&json!("say \"hi\"")), r#""say \u0022hi\u0022""#);
        assert_eq!(enc(&json!("a\\b")), r#""a\\b""#);
        assert_eq!(enc(&json!("\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}")), "\"\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}\"");
        assert_eq!(enc(&json!("http://x.y/z")), r#""http:\/\/x.y\/z""#);
    }

    #[test]
    fn unicode_is_raw_except_line_terminators() {
        assert_eq!(enc(&json!("Привет, 世界 😀 é")), "\"Привет, 世界 😀 é\"");
        assert_eq!(enc(&json!("a\u{2028}b\u{2029}c")), r#""a\u2028b\u2029c""#);
        // Other characters starting with E2 80 stay raw.
        assert_eq!(enc(&json!("\u{2026}\u{2030}")), "\"\u{2026}\u{2030}\"");
    }

    #[test]
    fn keys_are_escaped_too() {
        assert_eq!(enc(&json!({"<k>/'":1})), r#"{"\u003Ck\u003E\/\u0027":1}"#);
    }

    #[test]
    fn structure_and_numbers() {
        let v = json!({
            "result": {"ID": "1", "list": [1, -2, 3.5, true, false, null], "empty": [], "obj": {}},
            "total": 2,
            "time": {"start": 1_721_807_581.024_93_f64, "zero": 0.0, "big": u64::MAX}
        });
        assert_eq!(
            enc(&v),
            concat!(
                r#"{"result":{"ID":"1","list":[1,-2,3.5,true,false,null],"empty":[],"obj":{}},"#,
                r#""total":2,"time":{"start":1721807581.02493,"zero":0.0,"big":18446744073709551615}}"#
            )
        );
        assert_eq!(enc(&json!(null)), "null");
        assert_eq!(enc(&json!("")), r#""""#);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[<>&'\"/\\\\\u{2028}\u{2029}a\n\u{1}é]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|e| Value::Object(e.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strings_round_trip(s in any::<String>(), k in "[<>&'\"/a-z]{0,6}") {
            let v = json!({ k: s });
            let out = to_vec(&v);
            let back: Value = serde_json::from_slice(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, &v);
            for b in [b'<', b'>', b'&', b'\''] {
                prop_assert!(!out.contains(&b));
            }
            prop_assert!(out.windows(2).all(|w| w[1] != b'/' || w[0] == b'\\'));
        }

        #[test]
        fn values_round_trip(v in any_json()) {
            // Compare with serde_json's own output read back the same way, as
            // its float parsing (without `float_roundtrip`) may differ in the last bit.
            let ours: Value = serde_json::from_slice(&to_vec(&v))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let plain = serde_json::to_vec(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let theirs: Value = serde_json::from_slice(&plain)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(ours, theirs);
        }
    }
}
