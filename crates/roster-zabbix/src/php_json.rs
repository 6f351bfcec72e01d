//! JSON output byte-compatible with PHP's `json_encode($x, JSON_UNESCAPED_SLASHES)`, as
//! Zabbix's `api_jsonrpc.php` writes it: compact, slashes raw, every non-ASCII character
//! as `\uXXXX` (lowercase hex, surrogate pairs above U+FFFF). A `serde_json` formatter;
//! it does not build envelopes.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use serde_json::Value;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Serialises `value` the way Zabbix's PHP does.
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

struct PhpFormatter;

fn write_u16<W: ?Sized + Write>(writer: &mut W, unit: u16) -> io::Result<()> {
    let buf = [
        b'\\',
        b'u',
        HEX[usize::from(unit >> 12)],
        HEX[usize::from((unit >> 8) & 0xF)],
        HEX[usize::from((unit >> 4) & 0xF)],
        HEX[usize::from(unit & 0xF)],
    ];
    writer.write_all(&buf)
}

impl Formatter for PhpFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch.is_ascii() {
                continue;
            }
            writer.write_all(fragment.as_bytes().get(start..i).unwrap_or_default())?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write_u16(writer, *unit)?;
            }
            start = i + ch.len_utf8();
        }
        writer.write_all(fragment.as_bytes().get(start..).unwrap_or_default())
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let escape: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write_u16(writer, u16::from(byte)),
        };
        writer.write_all(escape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(v: &Value) -> String {
        String::from_utf8(to_vec(v)).expect("ascii output")
    }

    #[test]
    fn slashes_raw_and_non_ascii_escaped() {
        assert_eq!(enc(&json!({"url": "http://x.y/z"})), r#"{"url":"http://x.y/z"}"#);
        assert_eq!(enc(&json!("Jörg")), r#""J\u00f6rg""#);
        assert_eq!(enc(&json!("Привет")), r#""\u041f\u0440\u0438\u0432\u0435\u0442""#);
        assert_eq!(enc(&json!("😀")), r#""\ud83d\ude00""#);
    }

    #[test]
    fn quotes_backslashes_and_controls() {
        assert_eq!(enc(&json!("a\"b\\c")), r#""a\"b\\c""#);
        assert_eq!(enc(&json!("\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}<>&'")), "\"\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}<>&'\"");
    }

    #[test]
    fn structure_is_compact_and_ordered() {
        let v = json!({"jsonrpc": "2.0", "result": ["1", 2, 1.5, true, null, {}], "id": 7});
        assert_eq!(enc(&v), r#"{"jsonrpc":"2.0","result":["1",2,1.5,true,null,{}],"id":7}"#);
    }

    #[test]
    fn output_reads_back_as_the_same_value() {
        let v = json!({"k/é": ["x\u{2028}y", "tab\tq\"", "\u{10FFFF}"]});
        let back: Value = serde_json::from_slice(&to_vec(&v)).expect("valid json");
        assert_eq!(back, v);
        assert!(to_vec(&v).is_ascii());
    }
}
